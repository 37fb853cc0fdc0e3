# DeployKit as a container: `docker build -t deploykit .` (see docs/install.md for how to run it).
# The base must provide Node.js >= 22.12 with npm; override NODE_IMAGE to build from a local image.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: the server and the web app, packed exactly as `npm pack` ships them.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the SQLite driver ships prebuilt binaries, and compiling it (what its allowScripts
# entry would do) needs Node's headers from nodejs.org and a C++ toolchain.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && mkdir /out && npm pack --ignore-scripts --pack-destination /out && mv /out/deploykit-*.tgz /out/deploykit.tgz

# Run: only the installed package and its runtime dependencies.
FROM ${NODE_IMAGE}
COPY --from=build /out/deploykit.tgz /tmp/deploykit.tgz
RUN npm install -g --no-audit --no-fund --ignore-scripts /tmp/deploykit.tgz && rm /tmp/deploykit.tgz && npm cache clean --force \
  && groupadd --system --gid 10001 deploykit \
  && useradd --system --uid 10001 --gid deploykit --home-dir /var/lib/deploykit --no-create-home --shell /usr/sbin/nologin deploykit \
  && mkdir -p /var/lib/deploykit && chown deploykit:deploykit /var/lib/deploykit && chmod 0700 /var/lib/deploykit \
  && ln -s "$(npm root -g)/deploykit" /opt/deploykit
ENV DEPLOYKIT_DATA_DIR=/var/lib/deploykit \
    DEPLOYKIT_ADDR=:8080
VOLUME /var/lib/deploykit
EXPOSE 8080
# Not root: the Docker socket is reached through its group, given at run time with
# --group-add "$(stat -c %g /var/run/docker.sock)".
USER deploykit
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.DEPLOYKIT_ADDR || ':8080').split(':').pop() + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node as PID 1 handles SIGTERM itself (graceful stop); the semi-space flag keeps idle memory low.
ENTRYPOINT ["node", "--max-semi-space-size=2", "/opt/deploykit/dist/server/cmd/deploykitd/main.js"]
