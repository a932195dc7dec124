# vmexit-lab image: `vmexit-lab` as the entrypoint, for the Indexed Job (`run --shard`), the merge
# (`merge`) and the service (`serve`) in deploy/k8s. Build from the repository root:
#   docker build -t vmexit-lab:0.1.0 .
#
# Base: Node 20 on Debian 12 (bookworm), pinned to a concrete release, the one the tests run on.
# The build and deps stages use the full image (python3, make and g++ for better-sqlite3's native
# addon, should its prebuilt binary be unavailable); the runtime stage the slim one, same Node
# release and glibc, so the addon built in deps loads there. To pin by digest as well, append
# @sha256:... from `docker buildx imagetools inspect node:20.20.2-bookworm-slim` to each FROM.

# ---- build: compile TypeScript and copy the HTML report's assets into dist/ (needs the devDependencies) ----
FROM node:20.20.2-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` script compiles, and the sources are not here yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only, native addon built for this Node release ----
FROM node:20.20.2-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

# ---- runtime ----
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY data ./data
COPY scenarios ./scenarios
# Files stay root-owned and read-only to the process (the pods also mount the root read-only).
RUN chmod 0755 dist/src/cli/main.js \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/vmexit-lab
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only verify a numeric USER.
USER 1000:1000
# vmexit-lab serve --port 8080 (deploy/k8s/base/deployment.yaml)
EXPOSE 8080
# No HEALTHCHECK: the image also runs one-shot jobs; the service's probes are in the Deployment
# (GET /healthz, GET /readyz).
ENTRYPOINT ["vmexit-lab"]
CMD ["--help"]
