package configtest_test

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubernetesReplicas (issue 15 #2): the processor runs as N replicas —
// a Deployment with a readiness probe and surge-only rollouts, scaled by a
// HorizontalPodAutoscaler, protected by a PodDisruptionBudget that keeps
// all but one replica up, spread over nodes, and sharing state through a
// Redis that is an external dependency (an ExternalName Service the
// policy's behavior.redis points at).
func TestKubernetesReplicas(t *testing.T) {
	_, cfg := processorService(t)
	var dep *appsv1.Deployment
	var pdb *policyv1.PodDisruptionBudget
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	services := map[string]*corev1.Service{}
	for _, objs := range loadAll(t, "k8s") {
		for _, o := range objs {
			switch {
			case o.Deployment != nil && o.Deployment.Name == "portcullis":
				dep = o.Deployment
			case o.PodDisruptionBudget != nil:
				pdb = o.PodDisruptionBudget
			case o.HPA != nil:
				hpa = o.HPA
			case o.Service != nil:
				services[o.Service.Name+"."+o.Service.Namespace] = o.Service
			}
		}
	}
	require.NotNil(t, dep)
	require.NotNil(t, pdb, "no PodDisruptionBudget")
	require.NotNil(t, hpa, "no HorizontalPodAutoscaler")
	pods := labels.Set(dep.Spec.Template.Labels)

	// Autoscaler: owns the Deployment, at least two replicas, scales on CPU.
	require.Equal(t, dep.Namespace, hpa.Namespace)
	ref := hpa.Spec.ScaleTargetRef
	require.Equal(t, "apps/v1", ref.APIVersion)
	require.Equal(t, "Deployment", ref.Kind)
	require.Equal(t, dep.Name, ref.Name)
	require.NotNil(t, hpa.Spec.MinReplicas)
	minR := *hpa.Spec.MinReplicas
	require.GreaterOrEqual(t, minR, int32(2), "one replica is no high availability")
	require.Greater(t, hpa.Spec.MaxReplicas, minR)
	require.NotNil(t, dep.Spec.Replicas)
	require.Equal(t, minR, *dep.Spec.Replicas, "initial replicas should equal the autoscaler's minimum")
	require.NotEmpty(t, hpa.Spec.Metrics)
	m := hpa.Spec.Metrics[0]
	require.Equal(t, autoscalingv2.ResourceMetricSourceType, m.Type)
	require.Equal(t, corev1.ResourceCPU, m.Resource.Name)
	require.NotNil(t, m.Resource.Target.AverageUtilization)
	_, hasCPURequest := dep.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
	require.True(t, hasCPURequest, "CPU utilisation needs a CPU request")

	// Disruption budget: selects exactly the Deployment's pods and lets at
	// most one go at a time.
	require.Equal(t, dep.Namespace, pdb.Namespace)
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	require.NoError(t, err)
	require.True(t, sel.Matches(pods), "PDB does not select the processor's pods")
	require.NotNil(t, pdb.Spec.MaxUnavailable)
	require.Equal(t, intstr.FromInt32(1), *pdb.Spec.MaxUnavailable)

	// Readiness gates traffic; rollouts never drop below the replica count.
	ctr := dep.Spec.Template.Spec.Containers[0]
	require.NotNil(t, ctr.ReadinessProbe)
	require.Equal(t, "/readyz", ctr.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, dep.Spec.Strategy.Type)
	require.Equal(t, intstr.FromInt32(0), *dep.Spec.Strategy.RollingUpdate.MaxUnavailable)
	spread := map[string]bool{}
	for _, c := range dep.Spec.Template.Spec.TopologySpreadConstraints {
		s, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		require.NoError(t, err)
		require.True(t, s.Matches(pods))
		spread[c.TopologyKey] = true
	}
	require.True(t, spread["kubernetes.io/hostname"], "replicas are not spread over nodes")

	// Shared state: behavior.redis names a Service of these manifests that
	// is an ExternalName (Redis is operated outside them).
	require.NotEmpty(t, cfg.Behavior.Redis, "replicas need shared state: behavior.redis")
	host, port, err := net.SplitHostPort(cfg.Behavior.Redis)
	require.NoError(t, err)
	require.Equal(t, "6379", port)
	key, ok := strings.CutSuffix(host, ".svc.cluster.local")
	require.True(t, ok, "behavior.redis %q is not a cluster Service name", host)
	redis := services[key]
	require.NotNil(t, redis, "behavior.redis names no Service in envoy/k8s (%s)", key)
	require.Equal(t, corev1.ServiceTypeExternalName, redis.Spec.Type)
	require.NotEmpty(t, redis.Spec.ExternalName)
}
