import type { PortMapping, Resources, VolumeMount } from "../../../../../src/deployment.ts";
import { DEFAULT_DRAIN_SECONDS } from "../../../../../src/domains.ts";
import { formatCommand } from "../../../lib/command.ts";
import { payloadText } from "./staged.ts";

/** How the diff shows a staged setting: its label, and a value before or after as one line. */

export function formatPorts(ports: readonly PortMapping[] | undefined): string {
  if (!ports || ports.length === 0) return "none";
  return ports.map((p) => `${p.host_port ? `${p.host_port}→` : ""}${p.container_port}${p.protocol === "udp" ? "/udp" : ""}`).join(", ");
}

export function formatVolumes(vols: readonly VolumeMount[] | undefined): string {
  if (!vols || vols.length === 0) return "none";
  return vols.map((v) => `${v.name}:${v.mount_path}`).join(", ");
}

export function formatResources(r: Resources | null | undefined): string {
  if (!r) return "no limits";
  const parts: string[] = [];
  if (r.memory_mb) parts.push(`${r.memory_mb} MiB`);
  if (r.cpus) parts.push(`${r.cpus} CPU`);
  if (r.cpu_shares) parts.push(`${r.cpu_shares} shares`);
  return parts.length ? parts.join(", ") : "no limits";
}

export const FIELD_FORMAT: Record<string, { label: string; fmt: (v: unknown) => string }> = {
  name: { label: "Name", fmt: (v) => payloadText(v) },
  icon_url: { label: "Icon", fmt: (v) => (v === "" || v === null || v === undefined ? "cleared" : String(v)) },
  image: { label: "Image", fmt: (v) => payloadText(v) },
  ports: { label: "Ports", fmt: (v) => formatPorts(v as PortMapping[]) },
  volumes: { label: "Volumes", fmt: (v) => formatVolumes(v as VolumeMount[]) },
  resources: { label: "Limits", fmt: (v) => formatResources(v as Resources | null) },
  replicas: { label: "Replicas", fmt: (v) => String(v ?? 1) },
  stop_grace_seconds: { label: "Stop grace", fmt: (v) => `${v ?? 30} s` },
  start_command: { label: "Command", fmt: (v) => formatArgvSetting(v) },
  entrypoint: { label: "Entrypoint", fmt: (v) => formatArgvSetting(v) },
  restart_policy: { label: "Restart policy", fmt: (v) => payloadText(v ?? "always") },
  restart_max_retries: { label: "Max retries", fmt: (v) => String(v ?? 10) },
  pre_deploy_command: {
    label: "Pre-deploy command",
    fmt: (v) => (Array.isArray(v) && v.length > 0 ? formatCommand(v as string[]) : "none"),
  },
  cron_schedule: { label: "Cron schedule", fmt: (v) => (typeof v === "string" && v.trim() !== "" ? `${v} (UTC)` : "none (always on)") },
  cron_timeout_seconds: { label: "Cron timeout", fmt: (v) => `${v ?? 3600} s` },
  healthcheck_path: { label: "Health check", fmt: (v) => (typeof v === "string" && v !== "" ? `GET ${v}` : "off (stays up 10 s)") },
  healthcheck_timeout_seconds: { label: "Health check timeout", fmt: (v) => `${v ?? 60} s` },
  drain_seconds: { label: "Drain time", fmt: (v) => `${v ?? DEFAULT_DRAIN_SECONDS} s` },
  // Issue 13: where a built service's code comes from.
  repo_url: { label: "Repository", fmt: (v) => (typeof v === "string" && v !== "" ? v : "none (runs its image)") },
  branch: { label: "Branch", fmt: (v) => (typeof v === "string" && v !== "" ? v : "main") },
  root_dir: { label: "Root directory", fmt: (v) => (typeof v === "string" && v !== "" ? v : "repository root") },
  dockerfile_path: { label: "Dockerfile", fmt: (v) => (typeof v === "string" && v !== "" ? v : "Dockerfile") },
};

/** An argv setting (start command, entrypoint) as one line; empty is the image's own. */
function formatArgvSetting(v: unknown): string {
  return Array.isArray(v) && v.length > 0 ? formatCommand(v as string[]) : "image default";
}
