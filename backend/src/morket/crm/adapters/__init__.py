"""One module per CRM behind `CrmAdapter` (base.py); `adapter_for` picks one."""

from __future__ import annotations

from morket.crm.adapters.base import CrmAdapter
from morket.crm.adapters.hubspot import HubSpotAdapter
from morket.crm.adapters.salesforce import SalesforceAdapter
from morket.models import CrmKind

ADAPTERS: dict[CrmKind, CrmAdapter] = {CrmKind.HUBSPOT: HubSpotAdapter(), CrmKind.SALESFORCE: SalesforceAdapter()}


def adapter_for(kind: CrmKind) -> CrmAdapter:
    return ADAPTERS[kind]
