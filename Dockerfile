# The gluon-ps image: the server (default command) and, from the same image, the demo workers
# (docker-compose.yml). The native addon is compiled here by `npm ci` (the package's install
# script runs node-gyp), so the image needs a C++ toolchain and Python for node-gyp; CUDA is
# not built in (the CPU build is the default; see README "Building with CUDA").
FROM node:20-bookworm

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
# (`npm start` and `npm run demo` bundle again, which takes well under a second).
RUN node scripts/bundle.mjs server/cli.ts gluonps-server \
 && node scripts/bundle.mjs demo/run.ts demo

EXPOSE 50051
# Bind every interface: inside a container 127.0.0.1 is unreachable from other containers. The
# server refuses to start there without a token (GLUONPS_AUTH_TOKEN_FILE, or mutual TLS) unless
# GLUONPS_INSECURE=1 says serving it unauthenticated is intended (docker-compose.yml does, and
# publishes the port on 127.0.0.1 only).
CMD ["npm", "start", "--", "--host", "0.0.0.0"]
