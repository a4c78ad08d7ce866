"""CRM export (issue 15 item 1): connect HubSpot and Salesforce, map columns, push rows (docs/crm.md)."""
