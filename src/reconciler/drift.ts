import * as deploykit from "../index.ts";

/**
 * Out-of-band drift (catalogue D11) and forged ownership (C04). A container that carries the labels
 * of a desired deployment replica is kept only when it is what DeployKit would run there:
 *
 * - a running container must be attached to its project's network (`docker network disconnect`
 *   leaves it running but unreachable under its service name);
 * - a container DeployKit has no row for (created by hand with copied labels, or by a daemon killed
 *   before it wrote the row) is adopted only when its image and environment are the deployment's;
 *   variables the image itself sets are told apart from the creator's through the image's env.
 *
 * Otherwise the pass replaces it like any other unwanted container: removed, then created again
 * from the deployment, in the same pass. A recorded container cannot change its env or image
 * without becoming a new container, so only unrecorded ones are inspected.
 */

export interface ExpectedContainer {
  image: string;
  env: Record<string, string>;
  network: string;
}

/** Why `config` is not what `want` asks for, or null when it is. */
export function configDrift(config: deploykit.ContainerConfig, want: ExpectedContainer): string | null {
  if (config.image !== want.image) return `it runs ${config.image}, not the deployment's ${want.image}`;
  for (const [k, v] of Object.entries(want.env)) {
    if (!(k in config.env)) return `its env lacks ${k}`;
    if (config.env[k] !== v) return `its env sets ${k} differently from the deployment`;
  }
  for (const [k, v] of Object.entries(config.env))
    if (!(k in want.env) && config.image_env[k] !== v) return `its env sets ${k}, which the deployment does not`;
  if (!config.networks.includes(want.network)) return `it is not attached to ${want.network}`;
  return null;
}

/** A running container whose listing shows its networks but not the project's. */
export function disconnected(c: deploykit.RunningContainer, network: string): boolean {
  return c.state === "running" && c.ip_addresses !== undefined && !(network in c.ip_addresses);
}

/**
 * Why the container must be replaced rather than kept for its deployment replica, or null to keep
 * it. `recorded`: a container row holds its Docker id. An unrecorded container that cannot be
 * inspected is not adopted: unknown is not the same as ours.
 */
export async function driftReason(
  runtime: Pick<deploykit.ContainerRuntime, "inspectConfig">,
  c: deploykit.RunningContainer,
  want: ExpectedContainer,
  recorded: boolean,
): Promise<string | null> {
  let config: deploykit.ContainerConfig | null = null;
  if (disconnected(c, want.network)) {
    // The listing may be older than the container: giving it its service name reconnects its
    // endpoint (setNetworkAliases), and a listing taken in between shows no network. Ask Docker now.
    try {
      config = await runtime.inspectConfig(c.docker_id);
    } catch {
      return `it is not attached to ${want.network}`;
    }
    if (!config.networks.includes(want.network)) return `it is not attached to ${want.network}`;
  }
  if (recorded) return null;
  try {
    config ??= await runtime.inspectConfig(c.docker_id);
  } catch (err) {
    return `DeployKit has no record of it and could not inspect it (${deploykit.errorMessage(err)})`;
  }
  const drift = configDrift(config, want);
  return drift === null ? null : `DeployKit did not create it: ${drift}`;
}
