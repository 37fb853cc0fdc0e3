export { databaseSize, type HostProbe, parseMeminfo, SystemService, type SystemServiceOptions } from "./system.ts";
