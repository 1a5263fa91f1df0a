// The one list of endpoint families the appliance serves. A new family is a module exporting its routes and one
// line here; its 405s, Allow headers and route-table tests follow from the table by themselves.
import { certsFamily } from "./certs.ts";
import type { HttpDeps } from "./context.ts";
import { debugFamily } from "./debug.ts";
import { healthFamily } from "./health.ts";
import { httpBootFamily } from "./httpboot.ts";
import { ignitionFamily } from "./ignition.ts";
import { imageProxyFamily } from "./image-proxy.ts";
import { ipxeFamily } from "./ipxe.ts";
import type { EndpointFamily } from "./routes.ts";
import { ukiFamily } from "./uki.ts";
import { ztpFamily } from "./ztp.ts";

export function endpointFamilies(deps: HttpDeps): EndpointFamily[] {
  return [
    ipxeFamily(deps),
    ignitionFamily(deps),
    httpBootFamily(deps),
    ukiFamily(deps),
    healthFamily(deps),
    imageProxyFamily(deps.imageProxy),
    certsFamily(deps),
    debugFamily(deps),
    ztpFamily(deps),
  ];
}
