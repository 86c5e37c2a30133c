//! Builds the CustomResourceDefinitions from the Rust types.
//!
//! kube's derive gives us the skeleton; this module finishes each one so it matches the shape of
//! ESO's CRDs: explicit apiVersion/kind/metadata properties, no `nullable` on plain optional
//! fields, `listKind`, the status subresource exactly where ESO has it, and multi-version merging.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceSubresourceStatus, CustomResourceSubresources,
    JSONSchemaProps,
};
use kube::CustomResourceExt;
use kube::core::crd::merge_crds;
use serde_json::{Value, json};

use super::{generators, v1, v1alpha1, v1beta1};

/// How the status subresource of a version is declared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    /// `subresources: {status: {}}`.
    Subresource,
    /// `subresources: {}` (GeneratorState keeps status as a plain field).
    None,
}

/// Every CRD this operator installs, in a stable order.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    vec![
        multi(
            finish::<v1::ClusterExternalSecret>(Status::Subresource),
            finish::<v1beta1::ClusterExternalSecret>(Status::Subresource),
        ),
        finish::<v1alpha1::ClusterPushSecret>(Status::Subresource),
        multi(
            finish::<v1::ClusterSecretStore>(Status::Subresource),
            finish::<v1beta1::ClusterSecretStore>(Status::Subresource),
        ),
        multi(
            finish::<v1::ExternalSecret>(Status::Subresource),
            finish::<v1beta1::ExternalSecret>(Status::Subresource),
        ),
        finish::<v1alpha1::PushSecret>(Status::Subresource),
        multi(
            finish::<v1::SecretStore>(Status::Subresource),
            finish::<v1beta1::SecretStore>(Status::Subresource),
        ),
        finish::<generators::ClusterGenerator>(Status::Subresource),
        finish::<generators::Fake>(Status::Subresource),
        finish::<generators::GeneratorState>(Status::None),
        finish::<generators::Password>(Status::Subresource),
        finish::<generators::UUID>(Status::Subresource),
    ]
}

/// File name ESO uses for a CRD: `<group>_<plural>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// Serializes a CRD as YAML (deterministic: every map in the CRD model is ordered).
pub fn crd_to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(crd)
}

fn multi(
    served: CustomResourceDefinition,
    legacy: CustomResourceDefinition,
) -> CustomResourceDefinition {
    let version = served.spec.versions[0].name.clone();
    // Both inputs come from our own derives with identical group/kind/scope, so merging
    // cannot fail; fall back to the served version alone rather than panic.
    merge_crds(vec![served.clone(), legacy], &version).unwrap_or(served)
}

fn finish<K: CustomResourceExt + kube::Resource<DynamicType = ()>>(
    status: Status,
) -> CustomResourceDefinition {
    let mut crd = K::crd();
    let kind = crd.spec.names.kind.clone();
    crd.spec.names.list_kind = Some(format!("{kind}List"));
    for version in &mut crd.spec.versions {
        version.subresources = Some(CustomResourceSubresources {
            scale: None,
            status: (status == Status::Subresource)
                .then(|| CustomResourceSubresourceStatus(json!({}))),
        });
        if let Some(validation) = version.schema.as_mut()
            && let Some(root) = validation.open_api_v3_schema.take()
        {
            validation.open_api_v3_schema = Some(finish_root(root, &kind));
        }
    }
    crd
}

fn finish_root(root: JSONSchemaProps, kind: &str) -> JSONSchemaProps {
    let Ok(mut value) = serde_json::to_value(&root) else {
        return root;
    };
    clean(&mut value);
    if let Some(Value::Object(refresh)) =
        value.pointer_mut("/properties/status/properties/refreshTime")
    {
        refresh.insert("nullable".into(), Value::Bool(true));
    }
    if let Value::Object(obj) = &mut value {
        obj.remove("required");
        obj.remove("title");
        obj.insert(
            "description".into(),
            json!(format!("{kind} custom resource.")),
        );
        let props = obj.entry("properties").or_insert_with(|| json!({}));
        if let Value::Object(props) = props {
            props.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": "Versioned schema of this object."}),
            );
            props.insert(
                "kind".into(),
                json!({"type": "string", "description": "REST resource this object represents."}),
            );
            props.insert(
                "metadata".into(),
                json!({"type": "object", "description": "Standard object metadata."}),
            );
        }
    }
    serde_json::from_value(value).unwrap_or(root)
}

/// Drops `nullable` (and the `null` enum member) added for every `Option`: a nullable field keeps
/// explicit nulls instead of pruning and defaulting them, and ESO marks only
/// `status.refreshTime` nullable.
fn clean(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            obj.remove("nullable");
            // The structural rewrite strips the member types of int-or-string; the apiserver
            // expects them back in exactly this form.
            if obj.contains_key("x-kubernetes-int-or-string") {
                obj.insert(
                    "anyOf".into(),
                    json!([{"type": "integer"}, {"type": "string"}]),
                );
            }
            if let Some(Value::Array(values)) = obj.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            obj.values_mut().for_each(clean);
        }
        Value::Array(items) => items.iter_mut().for_each(clean),
        _ => {}
    }
}
