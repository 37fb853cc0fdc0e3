#!/usr/bin/python3
"""
A FUSE file system that forgets what was never fsynced: the power-loss layer of the durability
tests (F02). LazyFS and unreliablefs are not packaged for Debian and nothing outside the package
registries is reachable here, so this is our own, built on Debian's python3-fusepy.

    powercut.py BACKING MOUNTPOINT

Everything under MOUNTPOINT lives in BACKING, but a file's written bytes stay in this process's
memory until the file is fsynced (fsync or fdatasync): only then are they written to BACKING and
fsynced there. Killing this process is the power cut: every unsynced byte is gone, exactly as from a
disk cache that lost power, and remounting BACKING shows the last synced state.

Directory entries follow POSIX strictly: creating, renaming or removing a file or directory is
durable only once every directory it touched has been fsynced (fsyncdir) afterwards. The layer
applies each change to BACKING at once and appends how to undo it to BACKING.undo (beside BACKING,
outside the mount; a removed or replaced entry is kept in BACKING.trash until then). Mounting again
undoes, newest first, every change that never became durable, so a file that was created and
fsynced but whose directory never was is gone after the cut, and an atomic replace (write, fsync,
rename) without an fsync of the directory shows the old file. (ext4 in its default mode is kinder:
fsync of a new file also commits its directory entry. Programs must not count on that.)

Simplification, on the lenient side: file contents are tracked in 4 KiB blocks (a torn write
inside one block is not modelled).

Prints "ready" once mounted; `stats` in MOUNTPOINT/.powercut (read it) reports the fsyncs seen and
the blocks now held in memory only.
"""

import errno
import json
import os
import shutil
import sys
import threading

from fusepy import FUSE, FuseOSError, LoggingMixIn, Operations  # noqa: F401

BLOCK = 4096
STATS = "/.powercut"


class Volatile:
    """The unsynced state of one file: its logical size and the blocks written since the last fsync."""

    def __init__(self, size):
        self.size = size
        self.blocks = {}


class PowerCut(Operations):
    def __init__(self, backing):
        self.backing = os.path.realpath(backing)
        self.lock = threading.RLock()
        self.volatile = {}
        self.fds = {}
        self.fsyncs = 0
        # Directory-entry changes not yet durable: [{"op", "dirs": set of parents still to fsync, ...}].
        self.entries = []
        self.journal_path = self.backing + ".undo"
        self.trash = self.backing + ".trash"
        self.trashed = 0
        recover(self.backing)
        os.makedirs(self.trash, exist_ok=True)
        self.journal = open(self.journal_path, "a")

    # --- helpers -------------------------------------------------------------------------------
    def real(self, path):
        return os.path.join(self.backing, path.lstrip("/"))

    def fd(self, path):
        fd = self.fds.get(path)
        if fd is None:
            fd = os.open(self.real(path), os.O_RDWR)
            self.fds[path] = fd
        return fd

    def close_fd(self, path):
        fd = self.fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def durable_block(self, path, index):
        data = os.pread(self.fd(path), BLOCK, index * BLOCK)
        return bytearray(data.ljust(BLOCK, b"\0"))

    def state(self, path):
        v = self.volatile.get(path)
        if v is None:
            v = Volatile(os.fstat(self.fd(path)).st_size)
            self.volatile[path] = v
        return v

    def stats(self):
        held = sum(len(v.blocks) for v in self.volatile.values())
        return f"fsyncs {self.fsyncs}\nvolatile_blocks {held}\nvolatile_entries {len(self.entries)}\n".encode()

    # --- metadata ------------------------------------------------------------------------------
    def getattr(self, path, fh=None):
        if path == STATS:
            return {"st_mode": 0o100444, "st_nlink": 1, "st_size": len(self.stats())}
        with self.lock:
            try:
                st = os.lstat(self.real(path))
            except OSError as e:
                raise FuseOSError(e.errno)
            attrs = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime", "st_mtime", "st_ctime")}
            v = self.volatile.get(path)
            if v is not None:
                attrs["st_size"] = v.size
            return attrs

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self.real(path))

    def access(self, path, amode):
        if path != STATS and not os.access(self.real(path), amode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self.real(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self.real(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self.real(path), times)

    def mkdir(self, path, mode):
        with self.lock:
            os.mkdir(self.real(path), mode)
            self.record("mkdir", [path])

    def rmdir(self, path):
        with self.lock:
            if os.listdir(self.real(path)):
                raise FuseOSError(errno.ENOTEMPTY)
            self.remove(path)

    def statfs(self, path):
        st = os.statvfs(self.real(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def unlink(self, path):
        with self.lock:
            self.close_fd(path)
            self.volatile.pop(path, None)
            self.remove(path)

    def rename(self, old, new):
        with self.lock:
            if not os.path.lexists(self.real(old)):
                raise FuseOSError(errno.ENOENT)
            if old == new:
                return
            target = self.real(new)
            if os.path.isdir(target) and not os.path.islink(target) and os.listdir(target):
                raise FuseOSError(errno.ENOTEMPTY)
            self.close_fd(old)
            self.close_fd(new)
            replaced = self.next_trash() if os.path.lexists(target) else None
            # Journalled before anything moves: a cut in between finds the line and undoes what was done.
            self.record("rename", [old, new], replaced)
            if replaced is not None:
                os.rename(target, os.path.join(self.trash, replaced))
            try:
                os.rename(self.real(old), target)
            except OSError as e:
                if replaced is not None:
                    os.rename(os.path.join(self.trash, replaced), target)
                self.entries.pop()
                self.rewrite_journal()
                raise FuseOSError(e.errno)
            self.volatile.pop(new, None)
            v = self.volatile.pop(old, None)
            if v is not None:
                self.volatile[new] = v

    # --- directory entries ---------------------------------------------------------------------
    def next_trash(self):
        self.trashed += 1
        return str(self.trashed)

    def remove(self, path):
        """unlink/rmdir: journalled first, then the entry moves into the trash (undone at remount unless made durable)."""
        if not os.path.lexists(self.real(path)):
            raise FuseOSError(errno.ENOENT)
        name = self.next_trash()
        self.record("remove", [path], name)
        os.rename(self.real(path), os.path.join(self.trash, name))

    def record(self, op, paths, trashed=None):
        """Journals a directory-entry change; it stays undoable until its parent directories are fsynced."""
        entry = {"op": op, "paths": paths, "trash": trashed, "dirs": {os.path.dirname(p) or "/" for p in paths}}
        self.entries.append(entry)
        self.journal.write(json.dumps({k: v for k, v in entry.items() if k != "dirs"}) + "\n")
        self.journal.flush()

    def commit_dir(self, path):
        """fsyncdir: the entries of `path` become durable; a change whose every parent is durable is kept."""
        for entry in self.entries:
            entry["dirs"].discard(path)
        done = [e for e in self.entries if not e["dirs"]]
        if not done:
            return
        self.entries = [e for e in self.entries if e["dirs"]]
        # The journal is replaced whole before the trash of what became durable is emptied: a cut at any
        # point leaves either the old journal (with its trash) or the new one.
        self.rewrite_journal()
        for entry in done:
            if entry["trash"] is not None:
                rmtree_quiet(os.path.join(self.trash, entry["trash"]))

    def rewrite_journal(self):
        tmp = self.journal_path + ".tmp"
        with open(tmp, "w") as f:
            for entry in self.entries:
                f.write(json.dumps({k: v for k, v in entry.items() if k != "dirs"}) + "\n")
        os.replace(tmp, self.journal_path)
        self.journal.close()
        self.journal = open(self.journal_path, "a")

    # --- contents ------------------------------------------------------------------------------
    def create(self, path, mode, fi=None):
        with self.lock:
            existed = os.path.lexists(self.real(path))
            os.close(os.open(self.real(path), os.O_CREAT | os.O_WRONLY, mode))
            if not existed:
                self.record("create", [path])
            return 0

    def open(self, path, flags):
        if path == STATS:
            return 0
        with self.lock:
            self.fd(path)
            if flags & os.O_TRUNC:
                self.truncate(path, 0)
            return 0

    def read(self, path, size, offset, fh):
        if path == STATS:
            return self.stats()[offset : offset + size]
        with self.lock:
            v = self.volatile.get(path)
            if v is None:
                return os.pread(self.fd(path), size, offset)
            end = min(offset + size, v.size)
            out = bytearray()
            pos = offset
            while pos < end:
                index, within = divmod(pos, BLOCK)
                block = v.blocks.get(index)
                if block is None:
                    block = self.durable_block(path, index)
                take = min(BLOCK - within, end - pos)
                out += block[within : within + take]
                pos += take
            return bytes(out)

    def write(self, path, data, offset, fh):
        with self.lock:
            v = self.state(path)
            pos = offset
            rest = memoryview(data)
            while len(rest) > 0:
                index, within = divmod(pos, BLOCK)
                block = v.blocks.get(index)
                if block is None:
                    # Bytes past the durable end read as zeros (a hole), never as stale data.
                    block = self.durable_block(path, index) if index * BLOCK < v.size else bytearray(BLOCK)
                    if index * BLOCK < v.size < (index + 1) * BLOCK:
                        block[v.size - index * BLOCK :] = bytes(BLOCK - (v.size - index * BLOCK))
                    v.blocks[index] = block
                take = min(BLOCK - within, len(rest))
                block[within : within + take] = rest[:take]
                rest = rest[take:]
                pos += take
            v.size = max(v.size, offset + len(data))
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.lock:
            v = self.state(path)
            for index in [i for i in v.blocks if i * BLOCK >= length]:
                del v.blocks[index]
            index, within = divmod(length, BLOCK)
            if within and length < v.size:
                block = v.blocks.get(index)
                if block is None:
                    block = self.durable_block(path, index)
                    v.blocks[index] = block
                block[within:] = bytes(BLOCK - within)
            v.size = length

    def fsync(self, path, datasync, fh):
        with self.lock:
            self.fsyncs += 1
            v = self.volatile.pop(path, None)
            fd = self.fd(path)
            if v is not None:
                for index, block in sorted(v.blocks.items()):
                    start = index * BLOCK
                    if start < v.size:
                        os.pwrite(fd, bytes(block[: min(BLOCK, v.size - start)]), start)
                os.ftruncate(fd, v.size)
            os.fsync(fd)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return 0

    def fsyncdir(self, path, datasync, fh):
        with self.lock:
            self.fsyncs += 1
            self.commit_dir(path)
            return 0


def rmtree_quiet(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def recover(backing):
    """The power came back: undo, newest first, every directory-entry change that never became durable."""
    journal, trash = backing + ".undo", backing + ".trash"
    real = lambda p: os.path.join(backing, p.lstrip("/"))  # noqa: E731
    if os.path.exists(journal):
        with open(journal) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        # A cut can fall between a journal line and the change it announces: undo only what is there.
        def move(src, dst):
            if os.path.lexists(src):
                rmtree_quiet(dst)
                os.rename(src, dst)

        for e in reversed(entries):
            if e["op"] in ("create", "mkdir"):
                rmtree_quiet(real(e["paths"][0]))
            elif e["op"] == "remove":
                move(os.path.join(trash, e["trash"]), real(e["paths"][0]))
            elif e["op"] == "rename":
                old, new = e["paths"]
                move(real(new), real(old))
                if e["trash"] is not None:
                    move(os.path.join(trash, e["trash"]), real(new))
        os.unlink(journal)
    if os.path.exists(journal + ".tmp"):
        os.unlink(journal + ".tmp")
    rmtree_quiet(trash)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    backing, mountpoint = sys.argv[1], sys.argv[2]
    ops = PowerCut(backing)

    # "ready" once the kernel answers for the mount point.
    def announce():
        import time

        for _ in range(200):
            if os.path.ismount(mountpoint):
                print("ready", flush=True)
                return
            time.sleep(0.05)
        print("not mounted", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    # Locks stay in the kernel (no_remote_lock): SQLite's POSIX record locks then work as on a local disk.
    FUSE(ops, mountpoint, foreground=True, nothreads=False, no_remote_lock=True)


if __name__ == "__main__":
    main()
