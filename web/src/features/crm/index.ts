// What other parts of the app use of the CRM feature (the app's router, the table page's menu).
export { CrmPage } from "./components/crm-page";
export { CrmCallbackPage } from "./components/crm-callback-page";
export { TableCrmDialog } from "./components/table-crm-dialog";
