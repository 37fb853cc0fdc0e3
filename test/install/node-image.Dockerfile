# Stand-in for node:24-bookworm-slim where there is no registry: local Debian + Node 24 from npm.
# extra-ca.crt is the test host's CA bundle, so npm works behind the same TLS-intercepting proxy.
ARG DEBIAN_IMAGE=deploykit-test/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
COPY extra-ca.crt /usr/local/share/ca-certificates/extra-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra-ca.crt
RUN npm install -g --no-audit --no-fund node@24 && hash -r && node --version \
  && npm install -g --no-audit --no-fund npm@11 && hash -r && npm --version
