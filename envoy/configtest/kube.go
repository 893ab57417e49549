package configtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
	istionetv1alpha3 "istio.io/api/networking/v1alpha3"
	istioclientv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclientv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KubeObject is one decoded Kubernetes or Istio document: exactly one of the
// typed fields is set, matching Kind.
type KubeObject struct {
	Kind                string
	Namespace           *corev1.Namespace
	ConfigMap           *corev1.ConfigMap
	Service             *corev1.Service
	Deployment          *appsv1.Deployment
	PodDisruptionBudget *policyv1.PodDisruptionBudget
	HPA                 *autoscalingv2.HorizontalPodAutoscaler
	EnvoyFilter         *istioclientv1alpha3.EnvoyFilter
	Gateway             *istioclientv1.Gateway
	VirtualService      *istioclientv1.VirtualService
}

// LoadKube strictly decodes every document of a multi-document manifest
// into the published API types (k8s.io/api, istio.io/client-go). Unknown
// fields, and kinds this package does not know, are errors.
func LoadKube(path string) ([]KubeObject, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []KubeObject
	for i := 0; ; i++ {
		var doc any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if doc == nil {
			continue
		}
		js, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		obj, err := decodeKube(js)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		out = append(out, obj)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no documents", path)
	}
	return out, nil
}

func strictJSON(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func decodeKube(js []byte) (KubeObject, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return KubeObject{}, err
	}
	obj := KubeObject{Kind: tm.Kind}
	want := map[string]string{
		"Namespace": "v1", "ConfigMap": "v1", "Service": "v1",
		"Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1",
		"HorizontalPodAutoscaler": "autoscaling/v2",
		"EnvoyFilter":             "networking.istio.io/v1alpha3",
		"Gateway":                 "networking.istio.io/v1", "VirtualService": "networking.istio.io/v1",
	}
	if av, ok := want[tm.Kind]; !ok {
		return obj, fmt.Errorf("unsupported kind %q", tm.Kind)
	} else if av != tm.APIVersion {
		return obj, fmt.Errorf("%s: apiVersion %q, want %q", tm.Kind, tm.APIVersion, av)
	}
	var err error
	switch tm.Kind {
	case "Namespace":
		obj.Namespace = &corev1.Namespace{}
		err = strictJSON(js, obj.Namespace)
	case "ConfigMap":
		obj.ConfigMap = &corev1.ConfigMap{}
		err = strictJSON(js, obj.ConfigMap)
	case "Service":
		obj.Service = &corev1.Service{}
		err = strictJSON(js, obj.Service)
	case "Deployment":
		obj.Deployment = &appsv1.Deployment{}
		err = strictJSON(js, obj.Deployment)
	case "PodDisruptionBudget":
		obj.PodDisruptionBudget = &policyv1.PodDisruptionBudget{}
		err = strictJSON(js, obj.PodDisruptionBudget)
	case "HorizontalPodAutoscaler":
		obj.HPA = &autoscalingv2.HorizontalPodAutoscaler{}
		err = strictJSON(js, obj.HPA)
	case "EnvoyFilter":
		obj.EnvoyFilter = &istioclientv1alpha3.EnvoyFilter{}
		err = decodeIstio(js, &obj.EnvoyFilter.TypeMeta, &obj.EnvoyFilter.ObjectMeta, &obj.EnvoyFilter.Spec)
	case "Gateway":
		obj.Gateway = &istioclientv1.Gateway{}
		err = decodeIstio(js, &obj.Gateway.TypeMeta, &obj.Gateway.ObjectMeta, &obj.Gateway.Spec)
	case "VirtualService":
		obj.VirtualService = &istioclientv1.VirtualService{}
		err = decodeIstio(js, &obj.VirtualService.TypeMeta, &obj.VirtualService.ObjectMeta, &obj.VirtualService.Spec)
	}
	if err != nil {
		return obj, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if name := objectName(obj); name == "" {
		return obj, fmt.Errorf("%s: metadata.name is required", tm.Kind)
	}
	return obj, nil
}

// decodeIstio decodes an Istio object's envelope strictly with
// encoding/json and its spec strictly with protojson (the client-go types'
// own JSON decoding ignores unknown spec fields).
func decodeIstio(js []byte, tm *metav1.TypeMeta, om *metav1.ObjectMeta, spec proto.Message) error {
	var env struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              json.RawMessage `json:"spec"`
	}
	if err := strictJSON(js, &env); err != nil {
		return err
	}
	*tm, *om = env.TypeMeta, env.ObjectMeta
	if err := protojson.Unmarshal(env.Spec, spec); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	return nil
}

func objectName(o KubeObject) string {
	switch {
	case o.Namespace != nil:
		return o.Namespace.Name
	case o.ConfigMap != nil:
		return o.ConfigMap.Name
	case o.Service != nil:
		return o.Service.Name
	case o.Deployment != nil:
		return o.Deployment.Name
	case o.PodDisruptionBudget != nil:
		return o.PodDisruptionBudget.Name
	case o.HPA != nil:
		return o.HPA.Name
	case o.EnvoyFilter != nil:
		return o.EnvoyFilter.Name
	case o.Gateway != nil:
		return o.Gateway.Name
	case o.VirtualService != nil:
		return o.VirtualService.Name
	}
	return ""
}

// PatchValueJSON returns an EnvoyFilter patch value as JSON, for decoding
// into the Envoy type it patches.
func PatchValueJSON(p *istionetv1alpha3.EnvoyFilter_EnvoyConfigObjectPatch) ([]byte, error) {
	if p.GetPatch().GetValue() == nil {
		return nil, errors.New("patch has no value")
	}
	b, err := protojson.Marshal(p.GetPatch().GetValue())
	if err != nil {
		return nil, fmt.Errorf("patch value: %w", err)
	}
	return b, nil
}
