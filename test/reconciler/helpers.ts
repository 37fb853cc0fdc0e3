import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";

/** The local base image (scripts/test-images.sh). */
export const BASE_IMAGE = "deploykit-test/busybox:1";
/**
 * An image whose behaviour the reconciler tests steer through the deployment's env (deployments
 * carry no command): it serves $VERSION over HTTP on 8080, records the version that first used
 * $DATA_DIR and serves it as /born, and exits 7 at once when $CRASH is set. It leaves on SIGTERM.
 */
export const WEB_IMAGE = "deploykit-test/reconciler-web:1";

const START_SH = `trap 'exit 0' TERM
mkdir -p /www
echo "\${VERSION:-v0}" > /www/index.html
if [ -n "$DATA_DIR" ]; then
  [ -f "$DATA_DIR/born" ] || echo "\${VERSION:-v0}" > "$DATA_DIR/born"
  cp "$DATA_DIR/born" /www/born
fi
if [ -n "$CRASH" ]; then
  echo "starting \${VERSION:-v0}"
  echo "fatal: crash requested ($CRASH)" >&2
  exit 7
fi
httpd -f -p 8080 -h /www &
wait
`;

const DOCKERFILE = `FROM ${BASE_IMAGE}
COPY start.sh /start.sh
CMD ["sh", "/start.sh"]
`;

/** Builds `tag` from a Dockerfile alone (no context, no network). */
export async function buildImage(docker: Dockerode, tag: string, dockerfile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dk-recon-img-"));
  try {
    writeFileSync(join(dir, "Dockerfile"), dockerfile);
    const stream = await docker.buildImage({ context: dir, src: ["Dockerfile"] }, { t: tag, networkmode: "none" });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
        const failed = out?.find((o) => o.error);
        if (err || failed) reject(err ?? new Error(failed?.error));
        else resolve();
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds WEB_IMAGE once (no network needed: COPY only). */
export async function ensureWebImage(docker: Dockerode): Promise<void> {
  try {
    await docker.getImage(WEB_IMAGE).inspect();
    return;
  } catch {
    // not built yet
  }
  const dir = mkdtempSync(join(tmpdir(), "dk-recon-img-"));
  try {
    writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
    writeFileSync(join(dir, "start.sh"), START_SH);
    const stream = await docker.buildImage({ context: dir, src: ["Dockerfile", "start.sh"] }, { t: WEB_IMAGE, networkmode: "none" });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
        const failed = out?.find((o) => o.error);
        if (err || failed) reject(err ?? new Error(failed?.error));
        else resolve();
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A shell fragment fetching http://<host>:8080<path>. The static busybox's wget crashes when it
 * resolves names itself (static glibc), so busybox's own nslookup asks Docker's embedded DNS for
 * the network alias and wget gets the address.
 */
export function fetchScript(host: string, path = "/"): string {
  return `ip=$(nslookup ${host} 2>/dev/null | awk '/^Address: /{a=$2} END{print a}'); [ -n "$ip" ] && timeout 3 wget -qO- "http://$ip:8080${path}"`;
}
