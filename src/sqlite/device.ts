/** Device logins (`deploykit login` approved in the browser); AuthService's methods call these in their transaction. */
import { randomInt } from "node:crypto";
import * as deploykit from "../index.ts";
import { newID, type Tx } from "./db.ts";
import { generateToken, tokenDigest } from "./tokens.ts";

interface DeviceRow {
  id: string;
  device_code_hash: string;
  user_code: string;
  description: string;
  status: deploykit.DeviceStatus;
  user_id: string | null;
  expires_at: string;
  created_at: string;
}

const UNKNOWN = "Unknown or expired code.";
const DESCRIPTION_MAX = deploykit.API_KEY_DESCRIPTION_MAX;

function toDeviceLogin(r: DeviceRow): deploykit.DeviceLogin {
  return { user_code: r.user_code, description: r.description, status: r.status, expires_at: r.expires_at, created_at: r.created_at };
}

function userCode(): string {
  const a = deploykit.USER_CODE_ALPHABET;
  let s = "";
  for (let i = 0; i < 8; i++) s += a[randomInt(a.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

export function create(tx: Tx, description: string): deploykit.DeviceLoginCreated {
  const d = (description ?? "").trim();
  if (d === "" || d.length > DESCRIPTION_MAX) {
    throw deploykit.fieldError({
      description: [d === "" ? "Description is required." : `Description is too long (max ${DESCRIPTION_MAX} characters).`],
    });
  }
  // Expired codes are only ever refused; removing them here keeps the table as small as its use.
  tx.run("DELETE FROM device_logins WHERE expires_at <= ?", tx.now);
  const deviceCode = generateToken(deploykit.DEVICE_CODE_PREFIX);
  let code = userCode();
  while (tx.get("SELECT 1 FROM device_logins WHERE user_code = ?", code)) code = userCode();
  const row: DeviceRow = {
    id: newID(),
    device_code_hash: tokenDigest(deviceCode),
    user_code: code,
    description: d,
    status: deploykit.DEVICE_PENDING,
    user_id: null,
    expires_at: new Date(tx.nowDate.getTime() + deploykit.DEVICE_CODE_TTL_MS).toISOString(),
    created_at: tx.now,
  };
  tx.run(
    "INSERT INTO device_logins (id, device_code_hash, user_code, description, status, user_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
    row.id,
    row.device_code_hash,
    row.user_code,
    row.description,
    row.status,
    row.expires_at,
    row.created_at,
  );
  return { ...toDeviceLogin(row), device_code: deviceCode };
}

function live(tx: Tx, userCodeRaw: string): DeviceRow {
  const code = deploykit.normalizeUserCode(userCodeRaw ?? "");
  const row = code ? tx.get<DeviceRow>("SELECT * FROM device_logins WHERE user_code = ?", code) : undefined;
  if (!row || row.expires_at <= tx.now) throw deploykit.errorf(deploykit.ENOTFOUND, UNKNOWN);
  return row;
}

export function find(tx: Tx, userCodeRaw: string): deploykit.DeviceLogin {
  return toDeviceLogin(live(tx, userCodeRaw));
}

export function decide(tx: Tx, userCodeRaw: string, userID: string, approve: boolean): deploykit.DeviceLogin {
  const row = live(tx, userCodeRaw);
  if (row.status !== deploykit.DEVICE_PENDING) throw deploykit.errorf(deploykit.ECONFLICT, "This code was already approved or denied.");
  const status = approve ? deploykit.DEVICE_APPROVED : deploykit.DEVICE_DENIED;
  tx.run("UPDATE device_logins SET status = ?, user_id = ? WHERE id = ?", status, userID, row.id);
  return toDeviceLogin({ ...row, status, user_id: userID });
}

export function poll(
  tx: Tx,
  deviceCode: string,
  mint: (tx: Tx, userID: string, input: deploykit.APIKeyCreate) => deploykit.APIKeyCreated,
): deploykit.DevicePoll {
  const row = tx.get<DeviceRow>("SELECT * FROM device_logins WHERE device_code_hash = ?", tokenDigest(deviceCode ?? ""));
  if (!row || row.expires_at <= tx.now) throw deploykit.errorf(deploykit.ENOTFOUND, UNKNOWN);
  if (row.status === deploykit.DEVICE_PENDING) return { status: deploykit.DEVICE_PENDING };
  // A denied code keeps answering so until it expires (the throw rolls back anyway).
  if (row.status === deploykit.DEVICE_DENIED || !row.user_id) throw deploykit.errorf(deploykit.EFORBIDDEN, "The login was denied.");
  tx.run("DELETE FROM device_logins WHERE id = ?", row.id);
  return { status: deploykit.DEVICE_APPROVED, key: mint(tx, row.user_id, { description: row.description }) };
}
