export { chainName, type Exec, execTool, IptablesFirewall, restoreInput, validSubnet } from "./iptables.ts";
