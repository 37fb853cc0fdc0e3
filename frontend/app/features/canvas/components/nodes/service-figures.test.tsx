import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { FiguresText } from "./service-node.tsx";

describe("FiguresText (canvas node live figures)", () => {
  it.each([
    [12.345, 40 * 1024 * 1024, "CPU 12% · 40 MB"],
    [0.5, 1536, "CPU 0.5% · 1.5 KB"],
    [null, 0, "CPU — · 0 B"],
  ])("cpu %s, memory %s → %s", (cpu, mem, want) => {
    const html = renderToStaticMarkup(<FiguresText cpu={cpu} mem={mem} />);
    expect(html).toContain('data-testid="service-figures"');
    expect(html.replace(/<[^>]+>/g, "").replace(/&nbsp;/g, " ")).toBe(want);
  });
});
