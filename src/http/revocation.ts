import * as deploykit from "../index.ts";

/**
 * Which of `principals` no longer hold (revoked, user deleted, role changed), checking each session or
 * API key once. Other errors (a database hiccup) keep the connection: it is checked again next round.
 */
export async function revokedPrincipals(auth: deploykit.AuthService, principals: deploykit.Principal[]): Promise<Set<deploykit.Principal>> {
  const checks = new Map<string, Promise<boolean>>();
  const revoked = new Set<deploykit.Principal>();
  await Promise.all(
    principals.map(async (p) => {
      const key = p.session_id !== undefined ? `s:${p.session_id}` : `k:${p.api_key_id}`;
      let check = checks.get(`${key}:${p.user.role}`);
      if (!check) {
        check = Promise.resolve()
          .then(() => auth.recheck(p))
          .then(
            () => false,
            (err) => deploykit.errorCode(err) === deploykit.EUNAUTHORIZED,
          );
        checks.set(`${key}:${p.user.role}`, check);
      }
      if (await check) revoked.add(p);
    }),
  );
  return revoked;
}
