export { PortForwarder } from "./forwarder.ts";
