# The gluon-ps image: the server (default command) and, from the same image, the demo workers
# (docker-compose.yml). Two stages: `build` compiles the native addon (`npm ci` runs the
# package's install script, node-gyp, which needs Python, make and a C++ compiler) and bundles;
# the final stage starts from the slim Node image, has no compiler, and copies in only the
# built tree with production dependencies. CUDA is not built in (the CPU build is the default;
# see README "Building with CUDA").
#
# test/containers/ builds this file unchanged (`npm run test:containers`); on a machine that
# cannot pull node:20-bookworm(-slim) it first builds local stand-ins under those names.
FROM node:20-bookworm AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Manifests and the addon sources first: `npm ci` runs `node-gyp rebuild --directory native`,
# and this layer (the slow one) is then reused until the dependencies or the C++ change.
COPY package.json package-lock.json ./
COPY native/ native/
RUN npm ci

COPY . .
# Bundle once at build time, so a broken build fails here rather than at container start
# (`npm start` and `npm run demo` bundle again, which takes well under a second). Then drop
# what only building needed: dev dependencies and the addon's object files.
RUN node scripts/bundle.mjs server/cli.ts gluonps-server \
 && node scripts/bundle.mjs demo/run.ts demo \
 && npm prune --omit=dev \
 && rm -rf native/build/Release/obj.target native/build/Release/.deps native/build/Debug

FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app
# The tree belongs to root and is read-only for the server; only .build/ (where `npm start`
# and `npm run demo` write their bundles) belongs to the unprivileged `node` user it runs as.
COPY --from=build /app /app
RUN chown -R node:node /app/.build && mkdir -p /data && chown node:node /data
USER node

EXPOSE 50051
# Bind every interface: inside a container 127.0.0.1 is unreachable from other containers. The
# server refuses to start there without a token (GLUONPS_AUTH_TOKEN_FILE, or mutual TLS) unless
# GLUONPS_INSECURE=1 says serving it unauthenticated is intended (docker-compose.yml does, and
# publishes the port on 127.0.0.1 only).
CMD ["npm", "start", "--", "--host", "0.0.0.0"]
