import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { VERSION } from "./config.ts";

/** The system user the service runs as (in the `docker` group, so it can use the Docker socket). */
export const SERVICE_USER = "deploykit";
export const UNIT_PATH = "/etc/systemd/system/deploykit.service";
export const ENV_PATH = "/etc/deploykit/deploykit.env";
export const DEFAULT_SERVICE_DATA_DIR = "/var/lib/deploykit";
/** The daemon's Node flags (a small young generation keeps it inside its memory budget, bench/memory.ts). */
const NODE_FLAGS = ["--max-semi-space-size=2"];

export interface ServicePlan {
  unit: string;
  env: string;
  dataDir: string;
  /** Commands that create or update the service user. */
  userCommands: string[][];
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, "\\$1")}"`;
}

/**
 * The systemd unit and environment file for `deploykitd install-service`. `execPath` and `mainPath`
 * are this Node and this entry point (a global npm install resolves to the package's own files).
 */
export function planService(o: {
  dataDir: string;
  addr: string;
  logLevel: string;
  execPath: string;
  mainPath: string;
  userExists: boolean;
}): ServicePlan {
  // StateDirectory= makes systemd create /var/lib/<name> owned by the service user; elsewhere the
  // directory is created here and opened for writing explicitly.
  const stateDir = o.dataDir.startsWith("/var/lib/") ? o.dataDir.slice("/var/lib/".length) : null;
  const unit = `# Written by \`deploykitd install-service\` (DeployKit ${VERSION}). Flags: ${ENV_PATH}.
[Unit]
Description=DeployKit, a self-hosted platform-as-a-service
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=exec
User=${SERVICE_USER}
Group=${SERVICE_USER}
SupplementaryGroups=docker
EnvironmentFile=${ENV_PATH}
ExecStart=${[o.execPath, ...NODE_FLAGS, o.mainPath].map(quote).join(" ")}
Restart=on-failure
RestartSec=5s
TimeoutStopSec=30s
${stateDir ? `StateDirectory=${stateDir}\nStateDirectoryMode=0700` : `ReadWritePaths=${quote(o.dataDir)}`}
UMask=0077
# Lets deploykitd serve on :80/:443 and publish services on low ports without running as root.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=${[o.execPath, o.mainPath].some((p) => /^\/(home|root)\//.test(p)) ? "read-only" : "yes"}
PrivateTmp=yes
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
  const env = `# deploykitd flags as environment variables (\`deploykitd -help\` lists them all).
# After a change: systemctl restart deploykit
DEPLOYKIT_DATA_DIR=${o.dataDir}
DEPLOYKIT_ADDR=${o.addr}
DEPLOYKIT_LOG_LEVEL=${o.logLevel}
# DEPLOYKIT_CORS_ORIGIN=https://deploykit.example.com
# DEPLOYKIT_TRUST_PROXY=1
# DEPLOYKIT_RECONCILE_INTERVAL=30s
# DOCKER_HOST=unix:///var/run/docker.sock
`;
  const userCommands = o.userExists
    ? [["usermod", "--append", "--groups", "docker", SERVICE_USER]]
    : [
        [
          "useradd",
          "--system",
          "--user-group",
          "--groups",
          "docker",
          "--home-dir",
          o.dataDir,
          "--no-create-home",
          "--shell",
          "/usr/sbin/nologin",
          SERVICE_USER,
        ],
      ];
  return { unit, env, dataDir: o.dataDir, userCommands };
}

/** What to do once the unit is in place. */
export function startInstructions(plan: ServicePlan): string {
  return [
    "To start DeployKit now and at every boot:",
    "  systemctl daemon-reload",
    "  systemctl enable --now deploykit",
    "Then follow its log with `journalctl -u deploykit -f` and open http://<this host>:<port>/ to create the admin account.",
    `Flags live in ${ENV_PATH}; the database in ${plan.dataDir}/deploykit.db.`,
    `Back up with: sudo deploykitd backup -data-dir ${plan.dataDir} <file>`,
    "",
  ].join("\n");
}

export function dryRun(plan: ServicePlan): string {
  return [
    "deploykitd install-service --dry-run: nothing is written. As root, it would:",
    ...plan.userCommands.map((c) => `  run: ${c.map(quote).join(" ")}`),
    `  write ${ENV_PATH} (mode 0640, group ${SERVICE_USER}; kept if it exists):`,
    "",
    plan.env,
    `  write ${UNIT_PATH} (mode 0644):`,
    "",
    plan.unit,
    startInstructions(plan),
  ].join("\n");
}

export interface Host {
  /** Prefix for every written path (tests use a temp dir). */
  root: string;
  isRoot: boolean;
  run(cmd: string[]): void;
  groupExists(name: string): boolean;
  /** uid and gid of a user, or null when it does not exist. */
  user(name: string): { uid: number; gid: number } | null;
}

function lookup(db: "passwd" | "group", name: string): string[] | null {
  try {
    return execFileSync("getent", [db, name], { encoding: "utf8" }).trim().split(":");
  } catch {
    return null;
  }
}

export const realHost: Host = {
  root: "",
  isRoot: process.getuid?.() === 0,
  run(cmd) {
    execFileSync(cmd[0] as string, cmd.slice(1), { stdio: "inherit" });
  },
  groupExists: (name) => lookup("group", name) !== null,
  user(name) {
    const p = lookup("passwd", name);
    return p ? { uid: Number(p[2]), gid: Number(p[3]) } : null;
  },
};

/** The running entry point and Node, resolved through symlinks (a global npm install links its bin). */
export function entryPoint(): { execPath: string; mainPath: string } {
  return { execPath: realpathSync(process.execPath), mainPath: realpathSync(process.argv[1] as string) };
}

/**
 * `deploykitd install-service`: creates the service user, the environment file (kept when present)
 * and the unit. Needs root and Docker's group. Returns what to print.
 */
export function installService(o: { dataDir: string; addr: string; logLevel: string; dryRun: boolean }, host: Host = realHost): string {
  const plan = planService({ ...o, ...entryPoint(), userExists: host.user(SERVICE_USER) !== null });
  if (o.dryRun) return dryRun(plan);
  if (!host.isRoot)
    throw new Error(
      "install-service must run as root (it creates a user and writes to /etc); `deploykitd install-service --dry-run` shows what it would do.",
    );
  if (!host.groupExists("docker"))
    throw new Error(
      "The docker group does not exist: install Docker first (Debian: apt-get install docker.io), then run install-service again.",
    );
  const out: string[] = [];
  for (const cmd of plan.userCommands) {
    host.run(cmd);
    out.push(`ran: ${cmd.map(quote).join(" ")}`);
  }
  const user = host.user(SERVICE_USER);
  if (!user) throw new Error(`The user ${SERVICE_USER} was not created.`);
  const envPath = join(host.root, ENV_PATH);
  mkdirSync(dirname(envPath), { recursive: true, mode: 0o755 });
  if (existsSync(envPath)) out.push(`kept ${ENV_PATH} (already there)`);
  else {
    writeFileSync(envPath, plan.env, { mode: 0o640 });
    chownSync(envPath, 0, user.gid);
    out.push(`wrote ${ENV_PATH}`);
  }
  if (!plan.dataDir.startsWith("/var/lib/")) {
    const dataDir = join(host.root, plan.dataDir);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chownSync(dataDir, user.uid, user.gid);
    out.push(`created ${plan.dataDir} (owner ${SERVICE_USER}, mode 0700)`);
  }
  const unitPath = join(host.root, UNIT_PATH);
  mkdirSync(dirname(unitPath), { recursive: true });
  const before = existsSync(unitPath) ? readFileSync(unitPath, "utf8") : null;
  writeFileSync(unitPath, plan.unit, { mode: 0o644 });
  chmodSync(unitPath, 0o644);
  out.push(before === null ? `wrote ${UNIT_PATH}` : before === plan.unit ? `${UNIT_PATH} is up to date` : `updated ${UNIT_PATH}`);
  return `deploykitd install-service:\n${out.map((l) => `  ${l}`).join("\n")}\n\n${startInstructions(plan)}`;
}
