import * as deploykit from "../index.ts";
import { type Conn, ownedFilter, validateName } from "./conn.ts";
import { forbidden, ignoreNotFound, statusCode, wrap } from "./errors.ts";

/** Named volumes of this instance. Never bind mounts: these are the only storage a container gets. */
export async function listVolumes(conn: Conn): Promise<deploykit.Volume[]> {
  try {
    const res = await conn.api.listVolumes({ filters: ownedFilter(conn.instanceID) });
    // Docker answers `Volumes: null` when there are none.
    return (res.Volumes ?? [])
      .filter((v) => deploykit.ownedBy(v.Labels ?? undefined, conn.instanceID))
      .map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  } catch (err) {
    throw wrap(err);
  }
}

/** Creates the volume, labelled, when absent. Throws ECONFLICT when a foreign volume has the name. */
export async function ensureVolume(conn: Conn, name: string, labels: Record<string, string>): Promise<void> {
  validateName("volume", name);
  try {
    const existing = await ignoreNotFound(conn.api.getVolume(name).inspect());
    if (existing) {
      if (!deploykit.ownedBy(existing.Labels ?? undefined, conn.instanceID)) {
        throw deploykit.errorf(deploykit.ECONFLICT, `A volume named ${name} exists and is not managed by this DeployKit instance.`);
      }
      // Never hand one service's data to another, whatever the names say.
      const owner = existing.Labels?.[deploykit.LABEL_SERVICE_ID];
      const wanted = labels[deploykit.LABEL_SERVICE_ID];
      if (owner && wanted && owner !== wanted) {
        throw deploykit.errorf(deploykit.ECONFLICT, `The volume ${name} belongs to another service.`);
      }
      return;
    }
    const all = { ...labels, ...deploykit.instanceLabels(conn.instanceID) };
    // Creating an existing volume is a no-op in Docker, so a concurrent ensure is harmless.
    await conn.api.createVolume({ Name: name, Driver: "local", Labels: all });
  } catch (err) {
    throw wrap(err, "volume create failed");
  }
}

/** No error when gone; ECONFLICT while a container still uses it; EFORBIDDEN for a foreign volume. */
export async function removeVolume(conn: Conn, name: string): Promise<void> {
  validateName("volume", name);
  try {
    const existing = await ignoreNotFound(conn.api.getVolume(name).inspect());
    if (!existing) return;
    if (!deploykit.ownedBy(existing.Labels ?? undefined, conn.instanceID)) throw forbidden("volume", name);
    await ignoreNotFound(conn.api.getVolume(name).remove());
  } catch (err) {
    if (statusCode(err) === 409) {
      throw new deploykit.DeployKitError(deploykit.ECONFLICT, `volume ${name} is in use`, { cause: err });
    }
    throw wrap(err, "volume remove failed");
  }
}
