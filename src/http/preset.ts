import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import * as deploykit from "../index.ts";
import type { Deps } from "./context.ts";
import { ERRORS, params, ref } from "./schemas.ts";

const tags = ["presets"];

export function registerPresetRoutes(app: FastifyInstance, d: Pick<Deps, "authenticated">): void {
  app.get(
    "/api/presets/databases",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "Database presets (generated secrets not filled in)",
        response: { 200: { type: "array", items: ref("Preset") }, ...ERRORS },
      },
    },
    async () => deploykit.DATABASE_PRESETS,
  );

  app.get<{ Params: { presetId: string } }>(
    "/api/presets/databases/:presetId",
    {
      onRequest: d.authenticated,
      schema: {
        tags,
        summary: "One preset with fresh generated secrets",
        params: params("presetId"),
        response: { 200: ref("Preset"), ...ERRORS },
      },
    },
    async (req) => {
      const preset = deploykit.findPreset(req.params.presetId);
      if (!preset) throw deploykit.errorf(deploykit.ENOTFOUND, `Preset "${req.params.presetId}" not found.`);
      return deploykit.materializePreset(preset, (n) => new Uint8Array(randomBytes(n)));
    },
  );
}
