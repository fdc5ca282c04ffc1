# Multi-stage build: a static binary on an empty base image, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/maytinhchoem ./cmd/maytinhchoem

FROM scratch
# CA certificates for the Bot API over https; time zones are built into the binary.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/maytinhchoem /maytinhchoem
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/maytinhchoem"]
CMD ["serve"]
