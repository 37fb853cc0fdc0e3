import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { ScheduledBackupStatus } from "../../../../../src/system.ts";
import { BackupsCard } from "./backups-card.tsx";

const render = (backups: ScheduledBackupStatus) =>
  renderToStaticMarkup(
    <QueryClientProvider client={new QueryClient()}>
      <BackupsCard backups={backups} />
    </QueryClientProvider>,
  );

const BASE: ScheduledBackupStatus = { enabled: true, directory: "/var/lib/deploykit/backups", interval_hours: 24, retention: 7, kept: 3 };

describe("BackupsCard", () => {
  it("shows a failed backup as a warning, not only in a log", () => {
    const html = render({
      ...BASE,
      last: { at: new Date().toISOString(), ok: false, error: "ENOSPC: no space left on device", duration_ms: 12 },
      warning: "The last scheduled backup failed: ENOSPC: no space left on device",
    });
    expect(html).toContain('role="alert"');
    expect(html).toContain("The last scheduled backup failed: ENOSPC: no space left on device");
    expect(html).toContain("failed.");
  });

  it("shows the last copy, how many are kept and where, without a warning when all is well", () => {
    const html = render({
      ...BASE,
      last: {
        at: new Date().toISOString(),
        ok: true,
        path: "/var/lib/deploykit/backups/deploykit-20261204T030000Z.db",
        bytes: 2048,
        duration_ms: 40,
      },
      last_success_at: new Date().toISOString(),
      next_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(html).not.toContain('role="alert"');
    expect(html).toContain("deploykit-20261204T030000Z.db");
    expect(html).toContain("3 kept in /var/lib/deploykit/backups.");
    expect(html).toContain("Back up now");
  });
});
