export { hostAddresses } from "./addresses.ts";
export { databaseSize, type HostProbe, parseMeminfo, SystemService, type SystemServiceOptions } from "./system.ts";
