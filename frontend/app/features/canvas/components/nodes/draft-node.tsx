import type { Node, NodeProps } from "@xyflow/react";
import { GripHorizontal, Plus, X } from "lucide-react";
import { memo, useContext, useEffect, useId, useRef, useState } from "react";
import { ServiceIcon } from "../../../../components/service-icon.tsx";
import { Button } from "../../../../components/ui/button.tsx";
import { Input } from "../../../../components/ui/input.tsx";
import { userColor } from "../../../../lib/colors.ts";
import { envKeyError, imageError, parsePort, serviceNameError } from "../../../../lib/validation.ts";
import type { DraftNodeData, GhostNodeData } from "../../lib/flow.ts";
import { TakenNamesContext, useCanvasActions } from "../canvas-context.ts";

/** The local "New Service" form, placed where the user right-clicked. */
function DraftNodeView({ data }: NodeProps<Node<DraftNodeData>>) {
  const actions = useCanvasActions();
  const taken = useContext(TakenNamesContext);
  const pre = data.prefill;
  const firstPort = pre?.ports?.[0];
  const [name, setName] = useState(pre?.name ?? "");
  const [image, setImage] = useState(pre?.image ?? "");
  const [containerPort, setContainerPort] = useState(firstPort ? String(firstPort.container_port) : "");
  const [hostPort, setHostPort] = useState("");
  const [env, setEnv] = useState(pre?.env_vars ?? []);
  const [touched, setTouched] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);
  const uid = useId();
  useEffect(() => {
    nameRef.current?.focus();
    if (pre?.name) nameRef.current?.select();
  }, [pre?.name]);
  const nameErr = serviceNameError(name, taken);
  const imageErr = imageError(image);
  const cp = parsePort(containerPort, "Container port");
  const hp = parsePort(hostPort, "Public port");
  const portErr =
    cp.error ?? hp.error ?? (hp.value !== undefined && cp.value === undefined ? "Set the container port to publish it." : null);
  const envErr = env.map((e) => (e.key.trim() === "" ? null : envKeyError(e.key.trim()))).find(Boolean) ?? null;
  const invalid = !!(nameErr || imageErr || portErr || envErr);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (invalid || data.submitting) return;
    const ports =
      cp.value !== undefined
        ? [
            { container_port: cp.value, ...(hp.value !== undefined ? { host_port: hp.value } : {}), protocol: "tcp" as const },
            ...(pre?.ports?.slice(1) ?? []),
          ]
        : undefined;
    actions.submitDraft(data.draftId, {
      name: name.trim(),
      image: image.trim(),
      ...(pre?.icon_url ? { icon_url: pre.icon_url } : {}),
      env_vars: env.map((x) => ({ ...x, key: x.key.trim() })).filter((x) => x.key !== ""),
      ...(ports ? { ports } : {}),
      ...(pre?.volumes ? { volumes: pre.volumes } : {}),
      ...(pre?.start_command ? { start_command: pre.start_command } : {}),
    });
  };
  const shownErr =
    data.error ?? (touched ? (nameErr ?? imageErr ?? portErr ?? envErr) : name !== "" && nameErr?.includes("already") ? nameErr : null);
  return (
    <form
      onSubmit={submit}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === "Escape") actions.cancelDraft(data.draftId);
      }}
      className="nodrag nowheel w-[320px] cursor-default overflow-hidden rounded-xl border border-primary bg-card shadow-2xl"
      data-testid="service-draft"
    >
      <div className="draft-handle flex cursor-grab items-center justify-between border-b border-border bg-muted/60 px-3 py-2 active:cursor-grabbing">
        <span className="flex items-center gap-2 text-sm font-semibold">
          {pre?.icon_url ? (
            <ServiceIcon url={pre.icon_url} className="size-5" />
          ) : (
            <GripHorizontal className="size-4 text-muted-foreground" />
          )}
          New Service
        </span>
        <Button
          variant="ghost"
          size="icon"
          className="size-6"
          onClick={() => actions.cancelDraft(data.draftId)}
          aria-label="Cancel new service"
        >
          <X />
        </Button>
      </div>
      <div className="grid gap-2.5 p-3">
        <label className="grid gap-1 text-xs font-medium" htmlFor={`${uid}-name`}>
          Name
          <Input
            id={`${uid}-name`}
            ref={nameRef}
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="web"
            aria-invalid={touched && !!nameErr}
          />
        </label>
        <label className="grid gap-1 text-xs font-medium" htmlFor={`${uid}-image`}>
          Image
          <Input
            id={`${uid}-image`}
            value={image}
            onChange={(e) => setImage(e.target.value)}
            placeholder="nginx:latest"
            className="font-mono"
            aria-invalid={touched && !!imageErr}
          />
        </label>
        <div className="grid grid-cols-2 gap-2">
          <label className="grid gap-1 text-xs font-medium" htmlFor={`${uid}-cport`}>
            Container port
            <Input
              id={`${uid}-cport`}
              inputMode="numeric"
              value={containerPort}
              onChange={(e) => setContainerPort(e.target.value)}
              placeholder="80"
            />
          </label>
          <label className="grid gap-1 text-xs font-medium" htmlFor={`${uid}-hport`}>
            Public port
            <Input
              id={`${uid}-hport`}
              inputMode="numeric"
              value={hostPort}
              onChange={(e) => setHostPort(e.target.value)}
              placeholder="none"
            />
          </label>
        </div>
        {env.length > 0 ? (
          <div className="grid gap-1.5">
            <span className="text-xs font-medium">Environment Variables</span>
            {env.map((row, i) => (
              <div key={i} className="flex gap-1.5">
                <Input
                  aria-label="Variable key"
                  value={row.key}
                  onChange={(e) => setEnv(env.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))}
                  placeholder="KEY"
                  className="h-8 w-[42%] font-mono text-xs"
                />
                <Input
                  aria-label="Variable value"
                  value={row.value}
                  onChange={(e) => setEnv(env.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))}
                  placeholder="value"
                  className="h-8 flex-1 font-mono text-xs"
                />
                <Button variant="ghost" size="icon" onClick={() => setEnv(env.filter((_, j) => j !== i))} aria-label="Remove variable">
                  <X />
                </Button>
              </div>
            ))}
          </div>
        ) : null}
        <Button variant="ghost" size="sm" className="w-fit" onClick={() => setEnv([...env, { key: "", value: "" }])}>
          <Plus /> Add variable
        </Button>
        <p className="min-h-4 text-xs text-destructive" role="alert">
          {shownErr}
        </p>
        <div className="flex justify-end gap-2">
          <Button variant="outline" size="sm" onClick={() => actions.cancelDraft(data.draftId)}>
            Cancel
          </Button>
          <Button
            type="submit"
            size="sm"
            disabled={data.submitting || (touched && invalid) || (name !== "" && !!nameErr?.includes("already"))}
          >
            {data.submitting ? "Creating…" : "Create"}
          </Button>
        </div>
      </div>
    </form>
  );
}

export const DraftNode = memo(DraftNodeView);

/** Another user's draft: a dashed ghost where they are adding a service. */
function GhostNodeView({ data }: NodeProps<Node<GhostNodeData>>) {
  const color = userColor(data.userID);
  return (
    <div
      className="flex h-24 w-[300px] items-center justify-center rounded-xl border-2 border-dashed bg-card/40 text-sm"
      style={{ borderColor: color, color }}
      data-testid="ghost-node"
    >
      {data.userName} is adding a service…
    </div>
  );
}

export const GhostNode = memo(GhostNodeView);
