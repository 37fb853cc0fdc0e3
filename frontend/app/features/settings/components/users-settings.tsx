import { Pencil, Trash2, UserPlus } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { Role, User, UserUpdate } from "../../../../../src/user.ts";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Field, Input, Select } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { Table, TBody, TD, TH, THead, TR } from "../../../components/ui/table.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useUser } from "../../../shared/auth/auth-context.tsx";
import { useCreateUser, useDeleteUser, useUpdateUser, useUsers } from "../api/users.ts";

export function UsersSettings() {
  const me = useUser();
  const users = useUsers();
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const del = useDeleteUser();
  const admins = users.data?.filter((u) => u.role === "admin").length ?? 0;
  return (
    <Card>
      <CardHeader className="flex-row items-start justify-between">
        <div className="grid gap-1.5">
          <CardTitle>Users</CardTitle>
          <CardDescription>Admins manage users and the system; members do everything else.</CardDescription>
        </div>
        <Button size="sm" onClick={() => setAdding(true)} disabled={adding}>
          <UserPlus /> Add user
        </Button>
      </CardHeader>
      <CardContent className="grid gap-4">
        {adding ? <AddUserForm onDone={() => setAdding(false)} /> : null}
        {users.isPending ? (
          <Skeleton className="h-32" />
        ) : users.isError ? (
          <p className="text-sm text-destructive">{errorText(users.error)}</p>
        ) : (
          <Table>
            <THead>
              <TR>
                <TH>Name</TH>
                <TH>Email</TH>
                <TH>Role</TH>
                <TH />
              </TR>
            </THead>
            <TBody>
              {users.data.map((u) => {
                const lastAdmin = u.role === "admin" && admins <= 1;
                return editing === u.id ? (
                  <EditUserRow key={u.id} user={u} lastAdmin={lastAdmin} onDone={() => setEditing(null)} />
                ) : (
                  <TR key={u.id} data-testid={`user-row-${u.email}`}>
                    <TD className="font-medium">{u.name}</TD>
                    <TD className="text-muted-foreground">{u.email}</TD>
                    <TD>
                      <Badge variant={u.role === "admin" ? "default" : "secondary"}>{u.role}</Badge>
                    </TD>
                    <TD className="text-right">
                      {u.id === me.id ? (
                        <span className="text-xs text-muted-foreground">You</span>
                      ) : (
                        <div className="flex justify-end gap-1">
                          <Button variant="ghost" size="icon" aria-label={`Edit ${u.name}`} onClick={() => setEditing(u.id)}>
                            <Pencil />
                          </Button>
                          <Button
                            variant="ghost"
                            size="icon"
                            aria-label={`Delete ${u.name}`}
                            disabled={lastAdmin}
                            title={lastAdmin ? "The last admin cannot be deleted." : undefined}
                            onClick={() => setDeleting(u)}
                          >
                            <Trash2 />
                          </Button>
                        </div>
                      )}
                    </TD>
                  </TR>
                );
              })}
            </TBody>
          </Table>
        )}
      </CardContent>
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Delete ${deleting?.name ?? ""}?`}
        description="Their sessions and API keys stop working at once."
        confirmLabel="Delete user"
        onConfirm={() => {
          if (deleting)
            del.mutate(deleting.id, { onSuccess: () => toast.success("User deleted"), onError: (e) => toast.error(errorText(e)) });
          setDeleting(null);
        }}
      />
    </Card>
  );
}

function AddUserForm({ onDone }: { onDone: () => void }) {
  const [f, setF] = useState({ name: "", email: "", password: "", role: "member" as Role });
  const create = useCreateUser();
  const err = create.error;
  const general = err && !["name", "email", "password", "role"].some((k) => fieldError(err, k)) ? errorText(err) : null;
  return (
    <form
      className="grid gap-3 rounded-lg border border-border p-4"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate(
          { ...f, name: f.name.trim(), email: f.email.trim() },
          {
            onSuccess: (u) => {
              toast.success(`User ${u.name} created`);
              onDone();
            },
          },
        );
      }}
    >
      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Name" htmlFor="new-user-name" error={fieldError(err, "name")}>
          <Input id="new-user-name" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} autoFocus />
        </Field>
        <Field label="Email" htmlFor="new-user-email" error={fieldError(err, "email")}>
          <Input id="new-user-email" type="email" value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} />
        </Field>
        <Field label="Password" htmlFor="new-user-password" error={fieldError(err, "password")} hint="At least 8 characters.">
          <Input
            id="new-user-password"
            type="password"
            autoComplete="new-password"
            value={f.password}
            onChange={(e) => setF({ ...f, password: e.target.value })}
          />
        </Field>
        <Field label="Role" htmlFor="new-user-role" error={fieldError(err, "role")}>
          <Select id="new-user-role" value={f.role} onChange={(e) => setF({ ...f, role: e.target.value as Role })}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </Select>
        </Field>
      </div>
      <p className="min-h-5 text-sm text-destructive">{general}</p>
      <div className="flex justify-end gap-2">
        <Button variant="outline" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" disabled={create.isPending || !f.name.trim() || !f.email.trim() || f.password.length < 8}>
          Create user
        </Button>
      </div>
    </form>
  );
}

function EditUserRow({ user, lastAdmin, onDone }: { user: User; lastAdmin: boolean; onDone: () => void }) {
  const [f, setF] = useState({ name: user.name, email: user.email, role: user.role });
  const update = useUpdateUser();
  const upd: UserUpdate = {};
  if (f.name.trim() !== user.name) upd.name = f.name.trim();
  if (f.email.trim() !== user.email) upd.email = f.email.trim();
  if (f.role !== user.role) upd.role = f.role;
  const err = update.error;
  return (
    <TR>
      <TD>
        <Input
          aria-label="Name"
          value={f.name}
          onChange={(e) => setF({ ...f, name: e.target.value })}
          aria-invalid={!!fieldError(err, "name")}
        />
      </TD>
      <TD>
        <Input
          aria-label="Email"
          value={f.email}
          onChange={(e) => setF({ ...f, email: e.target.value })}
          aria-invalid={!!fieldError(err, "email")}
        />
      </TD>
      <TD>
        <Select
          aria-label="Role"
          value={f.role}
          onChange={(e) => setF({ ...f, role: e.target.value as Role })}
          disabled={lastAdmin}
          title={lastAdmin ? "The last admin cannot be demoted." : undefined}
        >
          <option value="member">member</option>
          <option value="admin">admin</option>
        </Select>
      </TD>
      <TD className="text-right">
        <div className="flex justify-end gap-1">
          <Button size="sm" variant="ghost" onClick={onDone}>
            Cancel
          </Button>
          <Button
            size="sm"
            disabled={Object.keys(upd).length === 0 || update.isPending}
            onClick={() =>
              update.mutate(
                { id: user.id, upd },
                {
                  onSuccess: () => {
                    toast.success("User updated");
                    onDone();
                  },
                  onError: (e) => toast.error(errorText(e)),
                },
              )
            }
          >
            Save
          </Button>
        </div>
      </TD>
    </TR>
  );
}
