//! `ardoise serve`: the HTTP server.

use std::io::Write;
use std::path::Path;

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use ardoise_http::ops::Ops;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::observed::StoreProbe;
use crate::settings::Settings;
use crate::wiring::Services;

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests and exits.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let services = Services::build(&settings).await?;
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
    let addr = settings.listen_addr()?;
    ardoise_http::check_origins(&settings.http.cors_origins).map_err(|e| anyhow::anyhow!(e))?;
    let tls = match settings.tls() {
        Some((cert, key)) => Some(tls_config(&cert, &key)?),
        None => None,
    };
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "serving plain HTTP on a non-loopback address: tokens and passwords cross the \
             network in clear; configure http.tls_cert and http.tls_key"
        );
    }
    let state = web::Data::new(ardoise_http::AppState::new(
        services.bar.clone(),
        services.staff.clone(),
        services.oauth.clone(),
        services.members.clone(),
    ));
    let pages = web::Data::new(
        ardoise_web::WebState::new(
            services.bar.clone(),
            services.staff.clone(),
            services.members.clone(),
            services.oauth.clone(),
            &settings.reports.time_zone,
        )
        .map_err(|e| anyhow::anyhow!(e))?,
    );
    let ops = web::Data::new(Ops::new(
        services.metrics.clone(),
        Arc::new(StoreProbe(services.store.clone())),
    ));
    let origins = settings.http.cors_origins.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(ardoise_http::cors(&origins))
            .wrap(from_fn(ardoise_http::ops::observe))
            .app_data(state.clone())
            .app_data(ops.clone())
            .configure(ardoise_http::configure)
            .app_data(pages.clone())
            .configure(ardoise_web::configure)
            .default_service(web::to(ardoise_web::not_found))
    })
    // Each worker's blocking pool (database reads, argon2) no larger than the connection
    // pool: more threads would only queue on r2d2's lock and wake each other up.
    .worker_max_blocking_threads(usize::try_from(settings.database.pool_size.max(4)).unwrap_or(4));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(addr, config),
        None => server.bind(addr),
    }
    .with_context(|| format!("cannot listen on {addr} (http.listen)"))?;
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
    server.run().await.context("server error")?;
    tracing::info!("stopped");
    Ok(())
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
