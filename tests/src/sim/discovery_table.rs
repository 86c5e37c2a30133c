//! The built-in API surface of kube-apiserver 1.36 as discovery shows it (every group, version
//! and resource, in the order the apiserver lists them), so discovery answers like a real
//! cluster even for the many resources kubesim does not implement.
//!
//! One resource per line: `group|version|plural|singular|Kind|scope (N/C)|verbs|shortNames|
//! categories|storageVersionHash|subresources`; lists are comma-separated; a subresource is
//! `name:kind:verbs` (kind `group/version/Kind` when its object lives elsewhere), `;`-separated.
//! storageVersionHash is `-` where the apiserver lists none, empty where it is not known.

pub const TABLE: &str = "\
|v1|bindings|binding|Binding|N|create|||-|\n\
|v1|componentstatuses|componentstatus|ComponentStatus|C|get,list|cs||-|\n\
|v1|configmaps|configmap|ConfigMap|N|create,delete,deletecollection,get,list,patch,update,watch|cm||qFsyl6wFWjQ=|\n\
|v1|endpoints|endpoints|Endpoints|N|create,delete,deletecollection,get,list,patch,update,watch|ep||fWeeMqaN/OA=|\n\
|v1|events|event|Event|N|create,delete,deletecollection,get,list,patch,update,watch|ev||r2yiGXH7wu8=|\n\
|v1|limitranges|limitrange|LimitRange|N|create,delete,deletecollection,get,list,patch,update,watch|limits||EBKMFVe6cwo=|\n\
|v1|namespaces|namespace|Namespace|C|create,delete,get,list,patch,update,watch|ns||Q3oi5N2YM8M=|finalize:Namespace:update;status:Namespace:get,patch,update\n\
|v1|nodes|node|Node|C|create,delete,deletecollection,get,list,patch,update,watch|no||XwShjMxG9Fs=|proxy:NodeProxyOptions:create,delete,get,patch,update;status:Node:get,patch,update\n\
|v1|persistentvolumeclaims|persistentvolumeclaim|PersistentVolumeClaim|N|create,delete,deletecollection,get,list,patch,update,watch|pvc||QWTyNDq0dC4=|status:PersistentVolumeClaim:get,patch,update\n\
|v1|persistentvolumes|persistentvolume|PersistentVolume|C|create,delete,deletecollection,get,list,patch,update,watch|pv||HN/zwEC+JgM=|status:PersistentVolume:get,patch,update\n\
|v1|pods|pod|Pod|N|create,delete,deletecollection,get,list,patch,update,watch|po|all|xPOwRZ+Yhw8=|attach:PodAttachOptions:create,get;binding:Binding:create;ephemeralcontainers:Pod:get,patch,update;eviction:policy/v1/Eviction:create;exec:PodExecOptions:create,get;log:Pod:get;portforward:PodPortForwardOptions:create,get;proxy:PodProxyOptions:create,delete,get,patch,update;resize:Pod:get,patch,update;status:Pod:get,patch,update\n\
|v1|podtemplates|podtemplate|PodTemplate|N|create,delete,deletecollection,get,list,patch,update,watch|||LIXB2x4IFpk=|\n\
|v1|replicationcontrollers|replicationcontroller|ReplicationController|N|create,delete,deletecollection,get,list,patch,update,watch|rc|all|Jond2If31h0=|scale:autoscaling/v1/Scale:get,patch,update;status:ReplicationController:get,patch,update\n\
|v1|resourcequotas|resourcequota|ResourceQuota|N|create,delete,deletecollection,get,list,patch,update,watch|quota||8uhSgffRX6w=|status:ResourceQuota:get,patch,update\n\
|v1|secrets|secret|Secret|N|create,delete,deletecollection,get,list,patch,update,watch|||S6u1pOWzb84=|\n\
|v1|serviceaccounts|serviceaccount|ServiceAccount|N|create,delete,deletecollection,get,list,patch,update,watch|sa||pbx9ZvyFpBE=|token:authentication.k8s.io/v1/TokenRequest:create\n\
|v1|services|service|Service|N|create,delete,deletecollection,get,list,patch,update,watch|svc|all|0/CO1lhkEBI=|proxy:ServiceProxyOptions:create,delete,get,patch,update;status:Service:get,patch,update\n\
apiregistration.k8s.io|v1|apiservices|apiservice|APIService|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions||status:APIService:get,patch,update\n\
apps|v1|controllerrevisions|controllerrevision|ControllerRevision|N|create,delete,deletecollection,get,list,patch,update,watch||||\n\
apps|v1|daemonsets|daemonset|DaemonSet|N|create,delete,deletecollection,get,list,patch,update,watch|ds|all||status:DaemonSet:get,patch,update\n\
apps|v1|deployments|deployment|Deployment|N|create,delete,deletecollection,get,list,patch,update,watch|deploy|all||scale:autoscaling/v1/Scale:get,patch,update;status:Deployment:get,patch,update\n\
apps|v1|replicasets|replicaset|ReplicaSet|N|create,delete,deletecollection,get,list,patch,update,watch|rs|all||scale:autoscaling/v1/Scale:get,patch,update;status:ReplicaSet:get,patch,update\n\
apps|v1|statefulsets|statefulset|StatefulSet|N|create,delete,deletecollection,get,list,patch,update,watch|sts|all||scale:autoscaling/v1/Scale:get,patch,update;status:StatefulSet:get,patch,update\n\
events.k8s.io|v1|events|event|Event|N|create,delete,deletecollection,get,list,patch,update,watch|ev||r2yiGXH7wu8=|\n\
authentication.k8s.io|v1|selfsubjectreviews|selfsubjectreview|SelfSubjectReview|C|create|||-|\n\
authentication.k8s.io|v1|tokenreviews|tokenreview|TokenReview|C|create|||-|\n\
authorization.k8s.io|v1|localsubjectaccessreviews|localsubjectaccessreview|LocalSubjectAccessReview|N|create||||\n\
authorization.k8s.io|v1|selfsubjectaccessreviews|selfsubjectaccessreview|SelfSubjectAccessReview|C|create||||\n\
authorization.k8s.io|v1|selfsubjectrulesreviews|selfsubjectrulesreview|SelfSubjectRulesReview|C|create||||\n\
authorization.k8s.io|v1|subjectaccessreviews|subjectaccessreview|SubjectAccessReview|C|create||||\n\
autoscaling|v2|horizontalpodautoscalers|horizontalpodautoscaler|HorizontalPodAutoscaler|N|create,delete,deletecollection,get,list,patch,update,watch|hpa|all||status:HorizontalPodAutoscaler:get,patch,update\n\
autoscaling|v1|horizontalpodautoscalers|horizontalpodautoscaler|HorizontalPodAutoscaler|N|create,delete,deletecollection,get,list,patch,update,watch|hpa|all||status:HorizontalPodAutoscaler:get,patch,update\n\
batch|v1|cronjobs|cronjob|CronJob|N|create,delete,deletecollection,get,list,patch,update,watch|cj|all||status:CronJob:get,patch,update\n\
batch|v1|jobs|job|Job|N|create,delete,deletecollection,get,list,patch,update,watch||all||status:Job:get,patch,update\n\
certificates.k8s.io|v1|certificatesigningrequests|certificatesigningrequest|CertificateSigningRequest|C|create,delete,deletecollection,get,list,patch,update,watch|csr|||approval:CertificateSigningRequest:get,patch,update;status:CertificateSigningRequest:get,patch,update\n\
networking.k8s.io|v1|ingressclasses|ingressclass|IngressClass|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
networking.k8s.io|v1|ingresses|ingress|Ingress|N|create,delete,deletecollection,get,list,patch,update,watch|ing|||status:Ingress:get,patch,update\n\
networking.k8s.io|v1|ipaddresses|ipaddress|IPAddress|C|create,delete,deletecollection,get,list,patch,update,watch|ip|||\n\
networking.k8s.io|v1|networkpolicies|networkpolicy|NetworkPolicy|N|create,delete,deletecollection,get,list,patch,update,watch|netpol|||\n\
networking.k8s.io|v1|servicecidrs|servicecidr|ServiceCIDR|C|create,delete,deletecollection,get,list,patch,update,watch||||status:ServiceCIDR:get,patch,update\n\
policy|v1|poddisruptionbudgets|poddisruptionbudget|PodDisruptionBudget|N|create,delete,deletecollection,get,list,patch,update,watch|pdb|||status:PodDisruptionBudget:get,patch,update\n\
rbac.authorization.k8s.io|v1|clusterrolebindings|clusterrolebinding|ClusterRoleBinding|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
rbac.authorization.k8s.io|v1|clusterroles|clusterrole|ClusterRole|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
rbac.authorization.k8s.io|v1|rolebindings|rolebinding|RoleBinding|N|create,delete,deletecollection,get,list,patch,update,watch||||\n\
rbac.authorization.k8s.io|v1|roles|role|Role|N|create,delete,deletecollection,get,list,patch,update,watch||||\n\
storage.k8s.io|v1|csidrivers|csidriver|CSIDriver|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
storage.k8s.io|v1|csinodes|csinode|CSINode|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
storage.k8s.io|v1|csistoragecapacities|csistoragecapacity|CSIStorageCapacity|N|create,delete,deletecollection,get,list,patch,update,watch||||\n\
storage.k8s.io|v1|storageclasses|storageclass|StorageClass|C|create,delete,deletecollection,get,list,patch,update,watch|sc|||\n\
storage.k8s.io|v1|volumeattachments|volumeattachment|VolumeAttachment|C|create,delete,deletecollection,get,list,patch,update,watch||||status:VolumeAttachment:get,patch,update\n\
storage.k8s.io|v1|volumeattributesclasses|volumeattributesclass|VolumeAttributesClass|C|create,delete,deletecollection,get,list,patch,update,watch|vac|||\n\
admissionregistration.k8s.io|v1|mutatingadmissionpolicies|mutatingadmissionpolicy|MutatingAdmissionPolicy|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions|LYmCf+UMVdg=|\n\
admissionregistration.k8s.io|v1|mutatingadmissionpolicybindings|mutatingadmissionpolicybinding|MutatingAdmissionPolicyBinding|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions|90V5FRZZ3Zg=|\n\
admissionregistration.k8s.io|v1|mutatingwebhookconfigurations|mutatingwebhookconfiguration|MutatingWebhookConfiguration|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions|Sqi0GUgDaX0=|\n\
admissionregistration.k8s.io|v1|validatingadmissionpolicies|validatingadmissionpolicy|ValidatingAdmissionPolicy|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions|6OxvlMmQ6is=|status:ValidatingAdmissionPolicy:get,patch,update\n\
admissionregistration.k8s.io|v1|validatingadmissionpolicybindings|validatingadmissionpolicybinding|ValidatingAdmissionPolicyBinding|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions|v9715VZqakg=|\n\
admissionregistration.k8s.io|v1|validatingwebhookconfigurations|validatingwebhookconfiguration|ValidatingWebhookConfiguration|C|create,delete,deletecollection,get,list,patch,update,watch||api-extensions|B0wHjQmsGNk=|\n\
apiextensions.k8s.io|v1|customresourcedefinitions|customresourcedefinition|CustomResourceDefinition|C|create,delete,deletecollection,get,list,patch,update,watch|crd,crds|api-extensions|jfWCUB31mvA=|status:CustomResourceDefinition:get,patch,update\n\
scheduling.k8s.io|v1|priorityclasses|priorityclass|PriorityClass|C|create,delete,deletecollection,get,list,patch,update,watch|pc|||\n\
coordination.k8s.io|v1|leases|lease|Lease|N|create,delete,deletecollection,get,list,patch,update,watch|||gqkMMb/YqFM=|\n\
node.k8s.io|v1|runtimeclasses|runtimeclass|RuntimeClass|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
discovery.k8s.io|v1|endpointslices|endpointslice|EndpointSlice|N|create,delete,deletecollection,get,list,patch,update,watch||||\n\
resource.k8s.io|v1|deviceclasses|deviceclass|DeviceClass|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
resource.k8s.io|v1|resourceclaims|resourceclaim|ResourceClaim|N|create,delete,deletecollection,get,list,patch,update,watch||||status:ResourceClaim:get,patch,update\n\
resource.k8s.io|v1|resourceclaimtemplates|resourceclaimtemplate|ResourceClaimTemplate|N|create,delete,deletecollection,get,list,patch,update,watch||||\n\
resource.k8s.io|v1|resourceslices|resourceslice|ResourceSlice|C|create,delete,deletecollection,get,list,patch,update,watch||||\n\
flowcontrol.apiserver.k8s.io|v1|flowschemas|flowschema|FlowSchema|C|create,delete,deletecollection,get,list,patch,update,watch||||status:FlowSchema:get,patch,update\n\
flowcontrol.apiserver.k8s.io|v1|prioritylevelconfigurations|prioritylevelconfiguration|PriorityLevelConfiguration|C|create,delete,deletecollection,get,list,patch,update,watch||||status:PriorityLevelConfiguration:get,patch,update\n\
";
