import { randomBytes } from "node:crypto";
import * as deploykit from "../index.ts";
import type { DB, Tx } from "./db.ts";
import { createDeployment, findDeploymentByID, latestLiveDeployment, toDeployment } from "./deployment.ts";
import { moveToPhase } from "./phase.ts";
import { resolveServiceEnv } from "./references.ts";
import { openValue } from "./secret-rows.ts";
import { findServiceByID } from "./service-rows.ts";

/** Build state kept with deployments (issue 13): phases, commit, build logs, webhook secrets. */
export class BuildService implements deploykit.BuildService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async setPhase(deploymentID: string, phase: deploykit.DeploymentPhase): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => {
      const d = findDeploymentByID(tx, deploymentID);
      if (d.phase !== phase) moveToPhase(tx, deploymentID, phase);
      return findDeploymentByID(tx, deploymentID);
    });
  }

  async setCommit(deploymentID: string, sha: string, message: string): Promise<void> {
    this.#db.write((tx) => {
      findDeploymentByID(tx, deploymentID);
      tx.run("UPDATE deployments SET commit_sha = ?, commit_message = ? WHERE id = ?", sha, message.slice(0, 4096), deploymentID);
    });
  }

  async saveBuildLog(deploymentID: string, log: string): Promise<void> {
    this.#db.write((tx) => {
      findDeploymentByID(tx, deploymentID);
      tx.run(
        `INSERT INTO build_logs (deployment_id, log, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (deployment_id) DO UPDATE SET log = excluded.log, updated_at = excluded.updated_at`,
        deploymentID,
        deploykit.tailBytes(log, deploykit.BUILD_LOG_MAX_BYTES),
        tx.now,
      );
    });
  }

  async findBuildLog(deploymentID: string): Promise<string> {
    return this.#db.read((tx) => tx.get<{ log: string }>("SELECT log FROM build_logs WHERE deployment_id = ?", deploymentID)?.log ?? "");
  }

  async findQueuedBuilds(): Promise<deploykit.Deployment[]> {
    return this.#db.read((tx) =>
      tx
        .all<Parameters<typeof toDeployment>[1]>(
          `SELECT * FROM deployments WHERE status = 'pending' AND build_source IS NOT NULL AND phase IN ('queued', 'cloning', 'building')
           ORDER BY created_at, rowid`,
        )
        .map((r) => toDeployment(tx, r)),
    );
  }

  async createBuildDeployment(serviceID: string, source: deploykit.BuildSource): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => this.#created(tx, createFromService(tx, serviceID, { build_source: source, image: "" })));
  }

  async createImageDeployment(serviceID: string, image: string): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => this.#created(tx, createFromService(tx, serviceID, { image })));
  }

  /** `deployment.created` after commit, as Apply publishes it: the reconciler passes over that service, the hub forwards it. */
  #created(tx: Tx, deployment: deploykit.Deployment): deploykit.Deployment {
    const projectID = findServiceByID(tx, deployment.service_id).project_id;
    this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_DEPLOYMENT_CREATED, projectID, { deployment }));
    return deployment;
  }

  async webhookSecret(serviceID: string): Promise<string> {
    return this.#db.write((tx) => {
      findServiceByID(tx, serviceID);
      const row = tx.get<{ webhook_secret: string | null }>("SELECT webhook_secret FROM services WHERE id = ?", serviceID);
      if (row?.webhook_secret) return row.webhook_secret;
      const secret = randomBytes(24).toString("hex");
      tx.run("UPDATE services SET webhook_secret = ? WHERE id = ?", secret, serviceID);
      return secret;
    });
  }

  async setGitCredential(serviceID: string, kind: "deploy_key" | "git_token", secret: string | null): Promise<void> {
    this.#db.write((tx) => {
      findServiceByID(tx, serviceID);
      // Column names come from the closed union above, never from input.
      // Encrypted at rest like variable values (issue 14).
      const stored = secret === null ? null : tx.cipher.seal(secret);
      tx.run(`UPDATE services SET ${kind === "deploy_key" ? "deploy_key" : "git_token"} = ? WHERE id = ?`, stored, serviceID);
    });
  }

  async findGitCredentials(serviceID: string): Promise<deploykit.GitCredentials> {
    return this.#db.read((tx) => {
      findServiceByID(tx, serviceID);
      const row = tx.get<deploykit.GitCredentials>("SELECT deploy_key, git_token FROM services WHERE id = ?", serviceID);
      const open = (v: string | null | undefined) => (v ? openValue(tx.cipher, v) : null);
      return { deploy_key: open(row?.deploy_key), git_token: open(row?.git_token) };
    });
  }

  async builtImages(serviceID: string): Promise<{ deployment_id: string; image: string; status: string }[]> {
    return this.#db.read((tx) =>
      tx.all<{ deployment_id: string; image: string; status: string }>(
        `SELECT id AS deployment_id, image, status FROM deployments WHERE service_id = ? AND image LIKE ? ORDER BY created_at DESC, rowid DESC`,
        serviceID,
        `${deploykit.BUILD_IMAGE_REPOSITORY}/%`,
      ),
    );
  }
}

/**
 * A deployment of the service's current settings and resolved env (what Apply would make), with
 * the image or the build source given. The last live deployment's image is the fallback.
 */
function createFromService(tx: Tx, serviceID: string, what: { image: string; build_source?: deploykit.BuildSource }): deploykit.Deployment {
  const svc = findServiceByID(tx, serviceID);
  const env = resolveServiceEnv(tx, svc);
  const image = what.image || svc.image || latestLiveDeployment(tx, serviceID)?.image || "";
  return createDeployment(tx, serviceID, {
    image,
    build_source: what.build_source ?? null,
    env_vars: env.env,
    ...(env.sealed && env.sealed.length > 0 ? { sealed_keys: env.sealed } : {}),
    ports: svc.ports,
    volumes: svc.volumes,
    resources: svc.resources,
    replicas: svc.replicas,
    stop_grace_seconds: svc.stop_grace_seconds,
    start_command: deploykit.resolveStartCommand(svc.start_command, env.env),
    entrypoint: deploykit.resolveStartCommand(svc.entrypoint, env.env),
    restart_policy: svc.restart_policy,
    restart_max_retries: svc.restart_max_retries,
    pre_deploy_command: deploykit.resolveStartCommand(svc.pre_deploy_command, env.env),
    cron_schedule: svc.cron_schedule,
    cron_timeout_seconds: svc.cron_timeout_seconds,
    healthcheck_path: svc.healthcheck_path,
    healthcheck_timeout_seconds: svc.healthcheck_timeout_seconds,
  });
}
