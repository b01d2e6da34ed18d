# Debian-based image that runs the same install step and the whole suite:
#   docker build -t grpcpy . && docker run --rm grpcpy
FROM debian:bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends sudo ca-certificates git make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Installs libgrpc-dev, pkg-config, protobuf-compiler, python3-grpcio and a Go toolchain.
RUN bash -c '. scripts/lib.sh && ensure_deps'
ENV PATH=/root/go/toolchain/bin:/root/go/bin:$PATH
CMD ["./scripts/test.sh"]
