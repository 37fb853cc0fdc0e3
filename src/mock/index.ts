import type * as deploykit from "../index.ts";
import { strictMock } from "./mock.ts";

export { strictMock } from "./mock.ts";

export const ProjectService = (impl: Partial<deploykit.ProjectService> = {}) =>
  strictMock<deploykit.ProjectService>("ProjectService", impl);
export const UserService = (impl: Partial<deploykit.UserService> = {}) => strictMock<deploykit.UserService>("UserService", impl);
export const AuthService = (impl: Partial<deploykit.AuthService> = {}) => strictMock<deploykit.AuthService>("AuthService", impl);
export const ServiceService = (impl: Partial<deploykit.ServiceService> = {}) =>
  strictMock<deploykit.ServiceService>("ServiceService", impl);
export const DeploymentService = (impl: Partial<deploykit.DeploymentService> = {}) =>
  strictMock<deploykit.DeploymentService>("DeploymentService", impl);
export const ContainerService = (impl: Partial<deploykit.ContainerService> = {}) =>
  strictMock<deploykit.ContainerService>("ContainerService", impl);
export const CanvasService = (impl: Partial<deploykit.CanvasService> = {}) => strictMock<deploykit.CanvasService>("CanvasService", impl);
export const EnvVarService = (impl: Partial<deploykit.EnvVarService> = {}) => strictMock<deploykit.EnvVarService>("EnvVarService", impl);
export const PendingChangeService = (impl: Partial<deploykit.PendingChangeService> = {}) =>
  strictMock<deploykit.PendingChangeService>("PendingChangeService", impl);
export const SystemService = (impl: Partial<deploykit.SystemService> = {}) => strictMock<deploykit.SystemService>("SystemService", impl);
export const SettingsService = (impl: Partial<deploykit.SettingsService> = {}) =>
  strictMock<deploykit.SettingsService>("SettingsService", impl);
export const EventBus = (impl: Partial<deploykit.EventBus> = {}) => strictMock<deploykit.EventBus>("EventBus", impl);
export const LogStreamer = (impl: Partial<deploykit.LogStreamer> = {}) => strictMock<deploykit.LogStreamer>("LogStreamer", impl);
export const Provisioner = (impl: Partial<deploykit.Provisioner> = {}) => strictMock<deploykit.Provisioner>("Provisioner", impl);
export const ContainerRuntime = (impl: Partial<deploykit.ContainerRuntime> = {}) =>
  strictMock<deploykit.ContainerRuntime>("ContainerRuntime", impl);
export const Reconciler = (impl: Partial<deploykit.Reconciler> = {}) => strictMock<deploykit.Reconciler>("Reconciler", impl);
export const DockerIntrospector = (impl: Partial<deploykit.DockerIntrospector> = {}) =>
  strictMock<deploykit.DockerIntrospector>("DockerIntrospector", impl);
export const ContainerExec = (impl: Partial<deploykit.ContainerExec> = {}) => strictMock<deploykit.ContainerExec>("ContainerExec", impl);
export const ShellSessionService = (impl: Partial<deploykit.ShellSessionService> = {}) =>
  strictMock<deploykit.ShellSessionService>("ShellSessionService", impl);
export const ServiceRunService = (impl: Partial<deploykit.ServiceRunService> = {}) =>
  strictMock<deploykit.ServiceRunService>("ServiceRunService", impl);
export const CronRunner = (impl: Partial<deploykit.CronRunner> = {}) => strictMock<deploykit.CronRunner>("CronRunner", impl);
export const DomainService = (impl: Partial<deploykit.DomainService> = {}) => strictMock<deploykit.DomainService>("DomainService", impl);
export const ProxyControl = (impl: Partial<deploykit.ProxyControl> = {}) => strictMock<deploykit.ProxyControl>("ProxyControl", impl);
export const IngressRoutes = (impl: Partial<deploykit.IngressRoutes> = {}) => strictMock<deploykit.IngressRoutes>("IngressRoutes", impl);
export const MetricsStore = (impl: Partial<deploykit.MetricsStore> = {}) => strictMock<deploykit.MetricsStore>("MetricsStore", impl);
export const ContainerStatsSource = (impl: Partial<deploykit.ContainerStatsSource> = {}) =>
  strictMock<deploykit.ContainerStatsSource>("ContainerStatsSource", impl);
