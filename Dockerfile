# Portcullis image: the gateway binary plus the two example MCP servers used
# by docker-compose.yml (files, web). Build: docker build -t portcullis .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/ ./cmd/portcullis ./examples/files ./examples/web

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
COPY --chown=65532:65532 examples/files/sandbox /srv/sandbox
COPY envoy/compose/portcullis.yaml /etc/portcullis/portcullis.yaml
# ext_proc gRPC, admin (health, metrics), xDS
EXPOSE 50051 9090 18000
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/portcullis.yaml"]
