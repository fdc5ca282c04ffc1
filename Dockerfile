# Multi-stage build: a static binary on an empty base image, run as a non-root user.
# cmd/maytinhchoem/image_test.go runs the binary the way this image does (its build line, its
# layout, its ENV and VOLUMEs); keep the two together.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -tags serveonly: the image's binary runs serve, migrate, summary and healthcheck, and links no
# emulator and no seed generator (demo, seed and loadtest are in the full build).
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -tags serveonly -o /out/maytinhchoem ./cmd/maytinhchoem
# The only places the bot writes, made here since scratch has no mkdir: /export's files, the
# jobs' charts and workbooks (private: children's data), and /tmp for /summary's chart.
RUN mkdir -p /layout/data/exports /layout/data/reports /layout/tmp \
    && chmod 0700 /layout/data/exports /layout/data/reports \
    && chmod 1777 /layout/tmp

FROM scratch
# CA certificates for the Bot API over https; time zones are built into the binary.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /layout/data/exports /data/exports
COPY --from=build --chown=65532:65532 /layout/data/reports /data/reports
COPY --from=build --chown=65532:65532 /layout/tmp /tmp
COPY --from=build /out/maytinhchoem /maytinhchoem
ENV EXPORT_DIR=/data/exports REPORTS_DIR=/data/reports HTTP_ADDR=:8080 METRICS_ADDR=:9090
# REPORTS_DIR must be one volume shared by every replica: a chart or workbook written by one
# process may be sent by another. A named volume starts with the ownership and mode above.
VOLUME ["/data/exports", "/data/reports"]
USER 65532:65532
# 8080: webhooks, file links, /healthz, /readyz; 9090: /metrics, for the internal network only.
EXPOSE 8080 9090
ENTRYPOINT ["/maytinhchoem"]
CMD ["serve"]
