//! Running the stateless generators a `dataFrom[].sourceRef.generatorRef` names (Password,
//! UUID, Fake, and ClusterGenerators wrapping them). They keep no GeneratorState (ESO creates
//! one only for generators that return state).

use kube::{Api, Client};
use shared::api::generators::{self as gen_api, ClusterGenerator, Fake, Password, UUID};
use shared::api::v1::{GeneratorKind, GeneratorRef};
use shared::generators::{self, FakeSpec, PasswordSpec};
use shared::keys::SecretMap;

use super::data::SourceError;

fn password_spec(spec: &gen_api::PasswordSpec) -> PasswordSpec {
    PasswordSpec {
        length: spec.length,
        digits: spec.digits,
        symbols: spec.symbols,
        symbol_characters: spec.symbol_characters.clone(),
        no_upper: spec.no_upper.unwrap_or(false),
        allow_repeat: spec.allow_repeat.unwrap_or(false),
        secret_keys: spec.secret_keys.clone(),
        encoding: spec.encoding.map(|e| {
            match e {
                gen_api::PasswordEncoding::Base64 => "base64",
                gen_api::PasswordEncoding::Base64url => "base64url",
                gen_api::PasswordEncoding::Base32 => "base32",
                gen_api::PasswordEncoding::Hex => "hex",
                gen_api::PasswordEncoding::Raw => "raw",
            }
            .to_string()
        }),
    }
}

fn run_password(spec: &gen_api::PasswordSpec) -> Result<SecretMap, SourceError> {
    generators::generate_password(&password_spec(spec), &mut generators::secure_rng())
        .map_err(|e| SourceError::Generator(e.to_string()))
}

fn run_uuid() -> SecretMap {
    generators::generate_uuid(&mut generators::secure_rng())
}

fn run_fake(spec: &gen_api::FakeSpec) -> SecretMap {
    generators::generate_fake(&FakeSpec {
        data: spec.data.clone().unwrap_or_default(),
    })
}

fn not_found(kind: &str, name: &str, e: kube::Error) -> SourceError {
    SourceError::Generator(format!("could not get generator {kind} {name:?}: {e}"))
}

/// The generator's `controller` class, when its kind has one (only Fake does).
pub async fn generator_class(client: &Client, g: &GeneratorRef, namespace: &str) -> Option<String> {
    match g.kind {
        GeneratorKind::Fake => Api::<Fake>::namespaced(client.clone(), namespace)
            .get_opt(&g.name)
            .await
            .ok()
            .flatten()
            .and_then(|f| f.spec.controller),
        GeneratorKind::ClusterGenerator => Api::<ClusterGenerator>::all(client.clone())
            .get_opt(&g.name)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.spec.generator.fake_spec.and_then(|f| f.controller)),
        _ => None,
    }
}

/// Runs the generator `g` from `namespace`.
pub async fn generate(
    client: &Client,
    g: &GeneratorRef,
    namespace: &str,
) -> Result<SecretMap, SourceError> {
    let kind = g.kind.as_str();
    match g.kind {
        GeneratorKind::Password => {
            let p = Api::<Password>::namespaced(client.clone(), namespace)
                .get(&g.name)
                .await
                .map_err(|e| not_found(kind, &g.name, e))?;
            run_password(&p.spec)
        }
        GeneratorKind::UUID => {
            Api::<UUID>::namespaced(client.clone(), namespace)
                .get(&g.name)
                .await
                .map_err(|e| not_found(kind, &g.name, e))?;
            Ok(run_uuid())
        }
        GeneratorKind::Fake => {
            let f = Api::<Fake>::namespaced(client.clone(), namespace)
                .get(&g.name)
                .await
                .map_err(|e| not_found(kind, &g.name, e))?;
            Ok(run_fake(&f.spec))
        }
        GeneratorKind::ClusterGenerator => {
            let c = Api::<ClusterGenerator>::all(client.clone())
                .get(&g.name)
                .await
                .map_err(|e| not_found(kind, &g.name, e))?;
            let spec = &c.spec.generator;
            if let Some(p) = &spec.password_spec {
                run_password(p)
            } else if spec.uuid_spec.is_some() {
                Ok(run_uuid())
            } else if let Some(f) = &spec.fake_spec {
                Ok(run_fake(f))
            } else {
                Err(SourceError::Generator(format!(
                    "ClusterGenerator {:?}: generator {} is not supported by this operator",
                    g.name,
                    spec.configured_keys().join(",")
                )))
            }
        }
        other => Err(SourceError::Generator(format!(
            "generator kind {} is not supported by this operator",
            other.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_crd_spec_maps_onto_the_generator() {
        let spec = gen_api::PasswordSpec {
            length: Some(12),
            digits: Some(2),
            symbols: Some(0),
            no_upper: Some(true),
            encoding: Some(gen_api::PasswordEncoding::Hex),
            ..Default::default()
        };
        let out = run_password(&spec).expect("generates");
        let pw = out
            .get("password")
            .and_then(|v| v.expose_str())
            .expect("password");
        // hex of 12 raw bytes
        assert_eq!(pw.len(), 24);
        assert!(pw.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn fake_returns_its_data() {
        let out = run_fake(&gen_api::FakeSpec {
            controller: None,
            data: Some([("a".to_string(), "b".to_string())].into()),
        });
        assert_eq!(out.get("a").and_then(|v| v.expose_str()), Some("b"));
    }
}
