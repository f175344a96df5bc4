//! `ardoise serve`: the HTTP server.

use std::io::Write;
use std::path::Path;

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use ardoise_http::edge::Edge;
use ardoise_http::ops::Ops;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::observed::StoreProbe;
use crate::settings::Settings;
use crate::wiring::Services;

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests and exits.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    raise_open_files_limit();
    let mut services = Services::build(&settings, crate::wiring::Create::Allowed).await?;
    let addrs = settings.listen_addrs()?;
    ardoise_http::check_origins(&settings.http.cors_origins).map_err(|e| anyhow::anyhow!(e))?;
    let tls = match settings.tls() {
        Some((cert, key)) => Some(tls_config(&cert, &key)?),
        None => None,
    };
    if let Some(addr) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        if tls.is_none() {
            tracing::warn!(
                %addr,
                "serving plain HTTP on a non-loopback address: tokens and passwords cross the \
                 network in clear; configure http.tls_cert and http.tls_key"
            );
        }
    }
    let state = web::Data::new(
        ardoise_http::AppState::new(
            services.bar.clone(),
            services.staff.clone(),
            services.oauth.clone(),
            services.members.clone(),
            services.member_access.clone(),
            services.me.clone(),
            (
                services.vouchers.clone(),
                services.mandates.clone(),
                services.service_tokens.clone(),
            ),
        )
        .with_exchange(services.exchange.clone())
        .with_notifications(services.notifications.clone())
        .with_public_url(Some(
            settings
                .http
                .public_url
                .trim()
                .trim_end_matches('/')
                .to_owned(),
        )),
    );
    let pages = web::Data::new(
        ardoise_web::WebState::new(
            services.bar.clone(),
            services.staff.clone(),
            services.members.clone(),
            services.oauth.clone(),
            services.member_access.clone(),
            services.me.clone(),
            &settings.reports.time_zone,
        )
        .map_err(|e| anyhow::anyhow!(e))?
        .with_vouchers(services.vouchers.clone())
        .with_exchange(services.exchange.clone())
        .with_public_url(&settings.http.public_url),
    );
    let business_cards = web::Data::new(
        services
            .business_cards
            .clone()
            .with_public_url(Some(settings.http.public_url.clone())),
    );
    let ops = web::Data::new(Ops::new(
        services.metrics.clone(),
        Arc::new(StoreProbe(services.store.clone())),
    ));
    let origins = settings.http.cors_origins.clone();
    let request_timeout =
        std::time::Duration::from_secs(u64::from(settings.http.request_timeout_seconds));
    let edge = web::Data::new(Edge::new(
        request_timeout,
        usize::try_from(settings.http.connections_per_address).unwrap_or(usize::MAX),
        tls.is_some(),
    ));
    let connecting = edge.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(ardoise_http::cors(&origins))
            .wrap(from_fn(ardoise_http::ops::observe))
            .wrap(from_fn(ardoise_http::edge::guard))
            .app_data(state.clone())
            .app_data(business_cards.clone())
            .app_data(ops.clone())
            .app_data(edge.clone())
            .configure(ardoise_http::configure)
            .app_data(pages.clone())
            .configure(ardoise_web::configure)
            .default_service(web::to(ardoise_web::not_found))
    })
    .on_connect(move |_, extensions| connecting.on_connect(extensions))
    // The head of a request must arrive within the timeout (then `edge::guard` gives its body
    // as long), or the client gets 408 and the connection is closed.
    .client_request_timeout(request_timeout)
    // Each worker's blocking pool (database reads, argon2) no larger than the connection
    // pool: more threads would only queue on r2d2's lock and wake each other up.
    .worker_max_blocking_threads(usize::try_from(settings.database.pool_size.max(4)).unwrap_or(4));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listen = &settings.http.listen;
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(&addrs[..], config),
        None => server.bind(&addrs[..]),
    }
    .with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
    // Only once the port is ours: a first start that cannot listen must not print (and
    // lose) the first password.
    if let Some(password) = services
        .staff
        .ensure_first_admin()
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first staff user: {e}"))?
    {
        println!(
            "first start: created staff user `admin` (rights 3) with password {password} \
             (shown once: change it)"
        );
    }
    for bound in server.addrs() {
        println!("ardoise listening on {scheme}://{bound}");
    }
    std::io::stdout().flush().ok();
    let staff = services.staff.clone();
    let oauth = services.oauth.clone();
    actix_web::rt::spawn(async move {
        let mut every_minute = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            if let Err(e) = staff.purge_expired().await {
                tracing::warn!(error = %e, "cannot purge expired sessions");
            }
            if let Err(e) = oauth.purge_expired().await {
                tracing::warn!(error = %e, "cannot purge expired access tokens");
            }
        }
    });
    actix_web::rt::spawn(crate::malformed::report());
    // Delivers the outbox until the process ends; an attempt cut short by the end is retried
    // after its lease, by this process's next start or by another process.
    if let Some(worker) = services.worker.take() {
        actix_web::rt::spawn(worker.run(std::future::pending()));
    }
    server.run().await.context("server error")?;
    tracing::info!("stopped");
    Ok(())
}

/// Every connection is an open file: raises the soft limit on open files to the hard limit
/// (often 1,024 by default, which a few hundred clients would exhaust), and logs it.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit (RLIMIT_NOFILE)"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit (RLIMIT_NOFILE)"),
    }
}

/// Reads the PEM certificate chain and private key into a rustls server configuration.
fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    // Two crypto providers may be compiled in (through dependencies): pick ring explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("http.tls_cert: cannot read {}: {e}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("http.tls_cert: no certificate in {}", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("http.tls_key: cannot read {}: {e}", key.display()))?;
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("http.tls_cert/http.tls_key: the key does not match the certificate")
}
