//! Leader election with a `coordination.k8s.io/v1` Lease (client-go's algorithm and ESO's
//! timings: lease 15 s, renew deadline 10 s, retry 2 s). Only the leader runs reconcilers; on
//! shutdown the lease is released so a standby takes over at once.

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;

/// Lease parameters.
#[derive(Clone, Debug)]
pub struct LeaderConfig {
    /// Lease name (`--leader-election-id`).
    pub name: String,
    /// Lease namespace.
    pub namespace: String,
    /// This candidate's identity (pod name + random suffix).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Pause between attempts.
    pub retry_period: Duration,
}

impl LeaderConfig {
    /// ESO's defaults for lease `name` in `namespace`.
    pub fn new(name: &str, namespace: &str, identity: &str) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Leader election failed or leadership was lost.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The API refused the lease operation.
    #[error("lease {0}: {1}")]
    Api(String, #[source] kube::Error),
    /// Renewals failed for longer than the renew deadline.
    #[error("leadership lost: lease not renewed within {0:?}")]
    Lost(Duration),
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn expired(spec: &LeaseSpec, at: Timestamp) -> bool {
    let (Some(renew), Some(secs)) = (spec.renew_time.as_ref(), spec.lease_duration_seconds) else {
        return true;
    };
    renew.0 + SignedDuration::from_secs(i64::from(secs)) < at
}

/// One acquire-or-renew attempt. `Ok(true)` when this candidate holds the lease afterwards.
pub async fn try_acquire_or_renew(
    api: &Api<Lease>,
    cfg: &LeaderConfig,
) -> Result<bool, kube::Error> {
    let duration = i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(i32::MAX);
    let pp = PostParams::default();
    let Some(mut lease) = api.get_opt(&cfg.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.name.clone()),
                namespace: Some(cfg.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(cfg.identity.clone()),
                lease_duration_seconds: Some(duration),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        return match api.create(&pp, &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let spec = lease.spec.get_or_insert_with(Default::default);
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder == cfg.identity {
        spec.renew_time = Some(now());
        spec.lease_duration_seconds = Some(duration);
    } else if holder.is_empty() || expired(spec, Timestamp::now()) {
        spec.holder_identity = Some(cfg.identity.clone());
        spec.lease_duration_seconds = Some(duration);
        spec.acquire_time = Some(now());
        spec.renew_time = Some(now());
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    } else {
        return Ok(false);
    }
    match api.replace(&cfg.name, &pp, &lease).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives the lease up if this candidate holds it (holder cleared, duration 1 s).
pub async fn release(api: &Api<Lease>, cfg: &LeaderConfig) -> Result<(), kube::Error> {
    let Some(mut lease) = api.get_opt(&cfg.name).await? else {
        return Ok(());
    };
    let Some(spec) = lease.spec.as_mut() else {
        return Ok(());
    };
    if spec.holder_identity.as_deref() != Some(cfg.identity.as_str()) {
        return Ok(());
    }
    spec.holder_identity = None;
    spec.lease_duration_seconds = Some(1);
    spec.renew_time = Some(now());
    spec.acquire_time = Some(now());
    api.replace(&cfg.name, &PostParams::default(), &lease)
        .await?;
    Ok(())
}

/// Waits for leadership, then runs `work` (handing it a future that resolves when leadership
/// ends or `shutdown` fires), renewing the lease meanwhile; releases the lease at the end.
/// Returns without running `work` if `shutdown` fires first.
pub async fn run_leading<W, Fut>(
    client: Client,
    cfg: LeaderConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    work: W,
) -> Result<(), LeaderError>
where
    W: FnOnce(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let api_err = |e| LeaderError::Api(format!("{}/{}", cfg.namespace, cfg.name), e);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = std::sync::Arc::new(stop_tx);
    let shutdown_tx = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = shutdown_tx.send(true);
    });

    let mut stop = stop_rx.clone();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        match try_acquire_or_renew(&api, &cfg).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "leader election attempt failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.retry_period) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!(lease = %cfg.name, identity = %cfg.identity, "became leader");

    let renewer = {
        let api = api.clone();
        let cfg = cfg.clone();
        let stop_tx = stop_tx.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut last = Instant::now();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(cfg.retry_period) => {}
                    _ = stop.changed() => return false,
                }
                if *stop.borrow() {
                    return false;
                }
                match try_acquire_or_renew(&api, &cfg).await {
                    Ok(true) => last = Instant::now(),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
                }
                if last.elapsed() > cfg.renew_deadline {
                    let _ = stop_tx.send(true);
                    return true;
                }
            }
        })
    };

    work(stop_rx).await;
    let _ = stop_tx.send(true);
    let lost = renewer.await.unwrap_or(false);
    if lost {
        return Err(LeaderError::Lost(cfg.renew_deadline));
    }
    release(&api, &cfg).await.map_err(api_err)?;
    tracing::info!(lease = %cfg.name, "released leadership");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_expiry() {
        let t0 = Timestamp::from_second(1_000).expect("valid");
        let spec = LeaseSpec {
            renew_time: Some(MicroTime(t0)),
            lease_duration_seconds: Some(15),
            ..Default::default()
        };
        assert!(!expired(&spec, t0 + SignedDuration::from_secs(15)));
        assert!(expired(&spec, t0 + SignedDuration::from_secs(16)));
        assert!(expired(&LeaseSpec::default(), t0));
    }
}
