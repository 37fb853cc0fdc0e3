import { isIP } from "node:net";
import type * as tls from "node:tls";
import * as deploykit from "../index.ts";

/** An ACME certificate may take this long before a failing handshake counts as an error. */
const ISSUE_GRACE_MS = 10 * 60_000;
const PROBE_TIMEOUT_MS = 5_000;

/**
 * A TLS handshake with the hostname's SNI through the proxy's published HTTPS port: the served
 * certificate decides the domain's status. `routeLoadedAt` is when the domain's route was first
 * loaded: until ISSUE_GRACE_MS after it, an ACME domain without its certificate is still pending.
 */
export async function probeDomain(
  httpsHost: string,
  httpsPort: number,
  d: deploykit.ServiceDomain,
  routeLoadedAt: number | undefined,
): Promise<deploykit.DomainStatusUpdate> {
  const host = httpsHost === "" || httpsHost === "0.0.0.0" || httpsHost === "::" ? "127.0.0.1" : httpsHost;
  try {
    // Loaded here, not at start-up: an instance without domains never dials TLS.
    const { connect } = await import("node:tls");
    const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const opts: tls.ConnectionOptions = { host, port: httpsPort, rejectUnauthorized: false, timeout: PROBE_TIMEOUT_MS };
      if (isIP(d.hostname) === 0) opts.servername = d.hostname;
      const s = connect(opts, () => {
        const c = s.getPeerCertificate();
        s.destroy();
        resolve(c);
      });
      s.on("timeout", () => s.destroy(new Error("TLS handshake timed out")));
      s.on("error", reject);
    });
    if (!cert?.subject) throw new Error("the proxy served no certificate");
    const names = (cert.subjectaltname ?? "").split(",").map((n) => n.trim().replace(/^(DNS|IP Address):/, ""));
    if (!names.includes(d.hostname)) throw new Error(`the proxy served a certificate for ${names.join(", ") || "other names"}`);
    const issuer = cert.issuer?.CN;
    return {
      status: deploykit.DOMAIN_ACTIVE,
      cert_issuer: (Array.isArray(issuer) ? issuer[0] : issuer) ?? null,
      cert_expires_at: new Date(cert.valid_to).toISOString(),
      last_error: null,
    };
  } catch (err) {
    const msg = deploykit.errorMessage(err);
    const loaded = routeLoadedAt ?? Date.now();
    const waiting = d.tls === deploykit.TLS_ACME && Date.now() - loaded < ISSUE_GRACE_MS;
    return { status: waiting ? deploykit.DOMAIN_PENDING : deploykit.DOMAIN_ERROR, last_error: `TLS handshake failed: ${msg}` };
  }
}
