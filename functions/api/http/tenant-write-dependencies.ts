import { TenantStore } from "../../store/tenant-store.js";
import { documentClient } from "../../shared/clients.js";
import { productionDependenciesWith } from "./dependencies.js";

/** The production wiring of the configuration and directory routes: the tenant store with its writes. */
export const tenantWriteDependencies = productionDependenciesWith((tableName) => ({
  tenants: new TenantStore(documentClient, tableName),
}));
