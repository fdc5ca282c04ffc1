# Multi-stage build: a static binary on a distroless base, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/maytinhchoem ./cmd/maytinhchoem

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/maytinhchoem /usr/local/bin/maytinhchoem
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/maytinhchoem"]
CMD ["serve"]
