# ngx_http_pfs_s3 on Debian 12's nginx, with pfsd.
#
#   docker build -t pfs-s3 .
#   docker run -p 9000:9000 -v pfsd-data:/var/lib/pfsd pfs-s3
#   aws --endpoint-url http://127.0.0.1:9000 s3 mb s3://master.data
#
# The build stage makes the Debian packages with scripts/build-debs, the
# script CI runs (t/16-debian-packages.t); the module is built against
# nginx-dev from the same Debian release as the nginx installed in the
# final stage, and apt refuses the package if the two nginx ABIs differ.
# The final stage runs scripts/container-start (also tested by
# t/16-debian-packages.t): pfsd as user pfsd, then nginx in the
# foreground, serving conf-examples/container.conf.  For pachd, mount a
# configuration over /etc/nginx/conf.d/s3.conf and set PFSD=off.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential debhelper dpkg-dev ca-certificates
WORKDIR /src
COPY . .
RUN scripts/deps build && scripts/build-debs /debs

FROM debian:bookworm-slim
COPY --from=build /debs/libnginx-mod-http-pfs-s3_*.deb /debs/pfsd_*.deb /tmp/debs/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        /tmp/debs/*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/debs \
 && rm -f /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY conf-examples/container.conf /etc/nginx/conf.d/s3.conf
COPY scripts/container-start /usr/local/bin/container-start
VOLUME /var/lib/pfsd
EXPOSE 9000
STOPSIGNAL SIGTERM
CMD ["/usr/local/bin/container-start"]
