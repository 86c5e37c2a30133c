//! SelfSubjectRulesReview answers for the simulator's two kinds of authorized users: admins
//! (`system:masters`: everything) and other authenticated users (the `system:basic-user` and
//! `system:discovery` rules the apiserver bootstraps). Anonymous users only get public info.

use serde_json::{Value, json};

use super::auth::UserInfo;

/// The review's `status`.
pub fn status(user: &UserInfo) -> Value {
    if user.is_admin() {
        return json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        });
    }
    let mut resource_rules = Vec::new();
    let mut non_resource_urls = vec!["/healthz", "/livez", "/readyz", "/version", "/version/"];
    if user.is_authenticated() {
        resource_rules.push(json!({
            "verbs": ["create"],
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        }));
        resource_rules.push(json!({
            "verbs": ["create"],
            "apiGroups": ["authentication.k8s.io"],
            "resources": ["selfsubjectreviews"],
        }));
        non_resource_urls.extend([
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/openapi",
            "/openapi/*",
        ]);
    }
    json!({
        "resourceRules": resource_rules,
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": non_resource_urls}],
        "incomplete": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_may_do_everything_and_users_only_review_themselves() {
        let admin = status(&UserInfo::cert("admin", &["system:masters"]));
        assert_eq!(admin["resourceRules"][0]["resources"], json!(["*"]));
        let user = status(&UserInfo::cert("u", &[]));
        let rules = user["resourceRules"].as_array().unwrap();
        assert!(rules.iter().all(|r| {
            !r["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("secrets"))
        }));
        assert_eq!(rules.len(), 2);
    }
}
