import type { WebSocket } from "ws";
import type * as deploykit from "../index.ts";
import type { MoveWriter } from "./canvas-hub-moves.ts";

/** A ghost of a service being created by someone in the room (canvas "drafts"). */
export type Draft = deploykit.CanvasDraft;

/** One browser tab connected to a project's canvas. */
export class HubClient {
  readonly ws: WebSocket;
  readonly projectID: string;
  token = "";
  principal: deploykit.Principal | null = null;
  /** When the token was last confirmed by AuthService (ms). */
  checkedAt = 0;
  /** Removed from its room; nothing more is sent or handled. */
  closed = false;
  /** Messages broadcast before the initial state went out, sent right after it. */
  backlog: string[] | null = null;
  authTimer: NodeJS.Timeout | null = null;
  expiryTimer: NodeJS.Timeout | null = null;
  chain: Promise<void> = Promise.resolve();
  /** Releases the socket's slot in the per-address count of unauthenticated sockets (once). */
  onAuthenticated: () => void = () => {};
  pending = 0;

  constructor(ws: WebSocket, projectID: string) {
    this.ws = ws;
    this.projectID = projectID;
  }

  get userID(): string {
    return this.principal?.user.id ?? "";
  }

  get userName(): string {
    return this.principal?.user.name ?? "";
  }

  clearTimers(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.authTimer = null;
    this.expiryTimer = null;
  }
}

export interface Room {
  clients: Set<HubClient>;
  drafts: Map<string, Draft>;
}

/** What the message handlers may do; implemented by CanvasHub. */
export interface HubOps {
  readonly deps: {
    canvas: deploykit.CanvasService;
    pendingChanges: deploykit.PendingChangeService;
    services: deploykit.ServiceService;
    logger: deploykit.Logger;
  };
  /** Node moves: broadcast at once, persisted behind. */
  readonly moves: MoveWriter;
  room(projectID: string): Room | undefined;
  /** Sends to one client (dropping it when too slow). */
  send(c: HubClient, type: deploykit.CanvasServerMessageType, payload: unknown): void;
  /** Sends to every ready client of the room except `except`. */
  broadcast(projectID: string, type: deploykit.CanvasServerMessageType, payload: unknown, except?: HubClient): void;
}

/** Maximum drafts (ghost nodes) kept per room. */
export const MAX_DRAFTS = 200;
