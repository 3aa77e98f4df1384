package loggen

import (
	"fmt"
	"time"
)

// Components, as "namespace/workload/pod/container". Pod names are fixed
// per component so a workload's lines share them, as in a real cluster.
const (
	cAPIServer  comp = "kube-system/kube-apiserver/kube-apiserver-cp-1/kube-apiserver"
	cKCM        comp = "kube-system/kube-controller-manager/kube-controller-manager-cp-1/kube-controller-manager"
	cScheduler  comp = "kube-system/kube-scheduler/kube-scheduler-cp-1/kube-scheduler"
	cKubelet    comp = "kube-system/kubelet/worker-2/kubelet"
	cEtcd       comp = "kube-system/etcd/etcd-cp-1/etcd"
	cRancher    comp = "cattle-system/rancher/rancher-7d9f8c6b5-x2k4p/rancher"
	cAgent      comp = "cattle-system/cattle-cluster-agent/cattle-cluster-agent-5b8c9d7f4-qm7tz/cluster-register"
	cLHManager  comp = "longhorn-system/longhorn-manager/longhorn-manager-9hq2w/longhorn-manager"
	cLHInstance comp = "longhorn-system/instance-manager/instance-manager-4f1c2a9e/instance-manager"
	cWeb        comp = "shop/storefront/storefront-6c7b9d8f5-ab3cd/nginx"
	cCheckout   comp = "shop/checkout/checkout-84f6d5c9b-lp9xq/checkout"
)

// klog renders a klog header line: "Lmmdd hh:mm:ss.uuuuuu pid file:line] msg".
func (g *gen) klog(level string, pid int, file string, line int, msg string) string {
	t := g.t
	return fmt.Sprintf("%c%02d%02d %02d:%02d:%02d.%06d %7d %s:%d] %s", klogLetter(level),
		int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, pid, file, line, msg)
}

func klogLetter(level string) byte {
	switch level {
	case "warn":
		return 'W'
	case "error":
		return 'E'
	case "fatal":
		return 'F'
	}
	return 'I'
}

func (g *gen) etcd(level, caller, msg, kv string) string {
	s := fmt.Sprintf(`{"level":%q,"ts":%q,"caller":%q,"msg":%q`, level, g.t.Format("2006-01-02T15:04:05.000000Z07:00"), caller, msg)
	if kv != "" {
		s += "," + kv
	}
	return s + "}"
}

func kl(c comp, pid int, level, file string, line int, f func(g *gen) string) emitter {
	return func(g *gen) (comp, string, string) { return c, level, g.klog(level, pid, file, line, f(g)) }
}

func controlPlane() profile {
	const apiPID, kcmPID, schedPID, kubeletPID = 1187, 1203, 1219, 2411
	resources := []string{"pods", "configmaps", "endpoints", "leases", "nodes", "services", "secrets", "deployments"}
	normal := []emitter{
		kl(cAPIServer, apiPID, "info", "httplog.go", 132, func(g *gen) string {
			return fmt.Sprintf(`"HTTP" verb=%q URI="/api/v1/namespaces/%s/%s" latency="%d.%03dms" userAgent="kubectl/v1.30.2" srcIP="%s:%d" resp=200`,
				g.pick("GET", "GET", "LIST", "WATCH", "PATCH"), g.pick("default", "shop", "kube-system"), g.pick(resources...),
				1+g.rng.IntN(30), g.rng.IntN(1000), g.ip(), 30000+g.rng.IntN(30000))
		}),
		kl(cAPIServer, apiPID, "info", "controller.go", 615, func(g *gen) string {
			return fmt.Sprintf("quota admission added evaluator for: %s", g.pick("endpointslices.discovery.k8s.io", "leases.coordination.k8s.io", "replicasets.apps"))
		}),
		kl(cKCM, kcmPID, "info", "replica_set.go", 676, func(g *gen) string {
			return fmt.Sprintf(`"Finished syncing" kind="ReplicaSet" key="shop/checkout-84f6d5c9b" duration="%dµs"`, 50+g.rng.IntN(900))
		}),
		kl(cKCM, kcmPID, "info", "event.go", 294, func(g *gen) string {
			return fmt.Sprintf(`"Event occurred" object="shop/storefront-6c7b9d8f5" kind="ReplicaSet" type="Normal" reason="SuccessfulCreate" message="Created pod: storefront-6c7b9d8f5-%s"`, g.alnum(5))
		}),
		kl(cScheduler, schedPID, "info", "schedule_one.go", 252, func(g *gen) string {
			return fmt.Sprintf(`"Successfully bound pod to node" pod="shop/checkout-84f6d5c9b-%s" node="worker-%d" evaluatedNodes=3 feasibleNodes=%d`, g.alnum(5), 1+g.rng.IntN(3), 1+g.rng.IntN(3))
		}),
		kl(cKubelet, kubeletPID, "info", "kubelet.go", 2455, func(g *gen) string {
			return fmt.Sprintf(`"SyncLoop %s" source="api" pods=["shop/storefront-6c7b9d8f5-%s"]`, g.pick("UPDATE", "ADD", "RECONCILE"), g.alnum(5))
		}),
		kl(cKubelet, kubeletPID, "info", "kubelet_node_status.go", 724, func(*gen) string {
			return `"Recording event message for node" node="worker-2" event="NodeReady"`
		}),
		func(g *gen) (comp, string, string) {
			return cEtcd, "info", g.etcd("info", "mvcc/index.go:214", "compact tree index", fmt.Sprintf(`"revision":%d`, 180000+g.rng.IntN(90000)))
		},
		func(g *gen) (comp, string, string) {
			return cEtcd, "info", g.etcd("info", "mvcc/kvstore_compaction.go:57", "finished scheduled compaction",
				fmt.Sprintf(`"compact-revision":%d,"took":"%d.%dms"`, 180000+g.rng.IntN(90000), 5+g.rng.IntN(40), g.rng.IntN(10)))
		},
	}
	etcdLeader := episode{"etcd-leader-lost", func(g *gen) []emitter {
		term := 7 + g.rng.IntN(20)
		lines := []emitter{
			func(g *gen) (comp, string, string) {
				return cEtcd, "warn", g.etcd("warn", "etcdserver/raft.go:416", "leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk",
					fmt.Sprintf(`"to":"%s","heartbeat-interval":"100ms","expected-duration":"200ms","exceeded-duration":"%dms"`, g.hex(16), 300+g.rng.IntN(900)))
			},
			func(g *gen) (comp, string, string) {
				return cEtcd, "warn", g.etcd("warn", "wal/wal.go:802", "slow fdatasync", fmt.Sprintf(`"took":"%d.%ds","expected-duration":"1s"`, 1+g.rng.IntN(4), g.rng.IntN(10)))
			},
			func(g *gen) (comp, string, string) {
				return cEtcd, "info", g.etcd("info", "raft/raft.go:1019", fmt.Sprintf("%s lost leader %s at term %d", g.hex(16), g.hex(16), term), "")
			},
			func(g *gen) (comp, string, string) {
				return cEtcd, "warn", g.etcd("warn", "etcdserver/util.go:166", "apply request took too long",
					fmt.Sprintf(`"took":"%d.%ds","expected-duration":"100ms","prefix":"read-only range ","request":"key:\"/registry/leases/kube-system/kube-scheduler\" "`, 2+g.rng.IntN(5), g.rng.IntN(10)))
			},
		}
		lines = append(lines, repeat(4, kl(cAPIServer, apiPID, "error", "status.go", 71, func(g *gen) string {
			return fmt.Sprintf(`apiserver received an error that is not an metav1.Status: &errors.errorString{s:"etcdserver: request timed out"}: etcdserver: request timed out (%s %s)`, g.pick("GET", "PUT"), g.pick(resources...))
		}))...)
		lines = append(lines, normal[0], normal[5])
		lines = append(lines, repeat(3, kl(cAPIServer, apiPID, "error", "timeout.go", 142, func(g *gen) string {
			return fmt.Sprintf(`post-timeout activity - time-elapsed: %d.%03ds, %s "/api/v1/namespaces/%s/%s" result: <nil>`, 60+g.rng.IntN(5), g.rng.IntN(1000), g.pick("GET", "PUT", "LIST"), g.pick("shop", "kube-system"), g.pick(resources...))
		}))...)
		lines = append(lines,
			kl(cKCM, kcmPID, "error", "leaderelection.go", 332, func(*gen) string {
				return `error retrieving resource lock kube-system/kube-controller-manager: Get "https://10.0.0.11:6443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager?timeout=5s": context deadline exceeded`
			}),
			kl(cKCM, kcmPID, "info", "leaderelection.go", 285, func(*gen) string {
				return `failed to renew lease kube-system/kube-controller-manager: timed out waiting for the condition`
			}),
			kl(cKCM, kcmPID, "fatal", "controllermanager.go", 318, func(*gen) string { return "leaderelection lost" }),
			func(g *gen) (comp, string, string) {
				return cEtcd, "info", g.etcd("info", "raft/node.go:325", fmt.Sprintf("raft.node: %s elected leader %s at term %d", g.hex(16), g.hex(16), term+1), "")
			},
		)
		return lines
	}}
	apiTimeouts := episode{"apiserver-timeouts", func(g *gen) []emitter {
		n := 8 + g.rng.IntN(8)
		lines := repeat(n, kl(cAPIServer, apiPID, "error", "wrap.go", 54, func(g *gen) string {
			return fmt.Sprintf(`timeout or abort while handling: method=%s URI="/apis/apps/v1/namespaces/shop/%s?timeout=32s" audit-ID="%s"`, g.pick("GET", "PUT", "PATCH"), g.pick("deployments", "replicasets", "statefulsets"), g.uuid())
		}))
		lines = append(lines,
			kl(cKubelet, kubeletPID, "error", "kubelet_node_status.go", 540, func(*gen) string {
				return `"Error updating node status, will retry" err="error getting node \"worker-2\": Get \"https://10.0.0.11:6443/api/v1/nodes/worker-2?timeout=10s\": net/http: request canceled (Client.Timeout exceeded while awaiting headers)"`
			}),
			kl(cScheduler, schedPID, "error", "leaderelection.go", 367, func(*gen) string {
				return `Failed to update lock: Put "https://10.0.0.11:6443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=5s": context deadline exceeded`
			}),
		)
		return lines
	}}
	return profile{normal: normal, episodes: []episode{etcdLeader, apiTimeouts}}
}

func (g *gen) rancherLine(level, msg string) string {
	return fmt.Sprintf("%s [%s] %s", g.t.Format("2006/01/02 15:04:05"), rancherLevel(level), msg)
}

func rancherLevel(level string) string {
	switch level {
	case "warn":
		return "WARNING"
	case "error":
		return "ERROR"
	case "fatal":
		return "FATAL"
	case "debug":
		return "DEBUG"
	}
	return "INFO"
}

func rl(c comp, level string, f func(g *gen) string) emitter {
	return func(g *gen) (comp, string, string) { return c, level, g.rancherLine(level, f(g)) }
}

func rancher() profile {
	normal := []emitter{
		rl(cRancher, "info", func(g *gen) string {
			return fmt.Sprintf("Watching metadata for %s", g.pick("apps/v1, Kind=Deployment", "batch/v1, Kind=Job", "networking.k8s.io/v1, Kind=Ingress", "/v1, Kind=ConfigMap"))
		}),
		rl(cRancher, "info", func(g *gen) string {
			return fmt.Sprintf("Handling backend connection request [c-%s]", g.alnum(5))
		}),
		rl(cRancher, "info", func(g *gen) string {
			return fmt.Sprintf("checking cluster [c-%s] for helm chart updates", g.alnum(5))
		}),
		rl(cRancher, "debug", func(g *gen) string {
			return fmt.Sprintf("[ClusterTokenRefresh] refreshed token for user-%s in %dms", g.alnum(5), 2+g.rng.IntN(40))
		}),
		rl(cAgent, "info", func(g *gen) string {
			return fmt.Sprintf("Connecting to wss://rancher.example.internal/v3/connect with token starting with %s", g.alnum(8))
		}),
		rl(cAgent, "info", func(*gen) string { return "Connected to proxy" }),
	}
	disconnect := episode{"cluster-agent-disconnected", func(g *gen) []emitter {
		cl := "c-" + g.alnum(5)
		lines := repeat(4, rl(cRancher, "info", func(g *gen) string {
			return "error in remotedialer server [400]: websocket: close 1006 (abnormal closure): unexpected EOF"
		}))
		lines = append(lines,
			rl(cAgent, "error", func(*gen) string {
				return "Failed to connect to proxy. Response status: 503 - 503 Service Unavailable. Response body: cluster agent disconnected"
			}),
			rl(cAgent, "error", func(*gen) string { return "Remotedialer proxy error: websocket: bad handshake" }),
		)
		lines = append(lines, repeat(5, rl(cRancher, "error", func(g *gen) string {
			return fmt.Sprintf("error syncing '%s': handler cluster-deploy: cluster %s not ready, requeuing", cl, cl)
		}))...)
		lines = append(lines, normal[0], rl(cRancher, "warn", func(*gen) string {
			return fmt.Sprintf("Cluster %s is unavailable: cluster agent disconnected", cl)
		}), normal[4], normal[5])
		return lines
	}}
	panicEp := episode{"recovered-panic", func(g *gen) []emitter {
		return []emitter{
			rl(cRancher, "error", func(*gen) string {
				return "Recovered from panic: runtime error: invalid memory address or nil pointer dereference"
			}),
			rl(cRancher, "error", func(g *gen) string {
				return fmt.Sprintf("error syncing 'p-%s': handler project-namespace-auth: failed to get role template: roletemplate.management.cattle.io not found, requeuing", g.alnum(5))
			}),
			rl(cRancher, "fatal", func(*gen) string { return "k3s exited with: exit status 255" }),
			rl(cRancher, "info", func(*gen) string { return "Rancher version v2.9.3 (a1b2c3d4e) is starting" }),
		}
	}}
	return profile{normal: normal, episodes: []episode{disconnect, panicEp}}
}

func (g *gen) logrus(level, msg, kv string) string {
	s := fmt.Sprintf(`%s time=%q level=%s msg=%q`, g.t.Format(runtimeTS), g.t.Format(time.RFC3339), logrusLevel(level), msg)
	if kv != "" {
		s += " " + kv
	}
	return s
}

func logrusLevel(level string) string {
	if level == "warn" {
		return "warning"
	}
	return level
}

func lh(c comp, level string, f func(g *gen) (msg, kv string)) emitter {
	return func(g *gen) (comp, string, string) {
		msg, kv := f(g)
		return c, level, g.logrus(level, msg, kv)
	}
}

func longhorn() profile {
	vols := []string{"pvc-3f1e2d4c-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "pvc-9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "pvc-0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"}
	normal := []emitter{
		lh(cLHManager, "info", func(g *gen) (string, string) {
			return "Volume attached", fmt.Sprintf("controller=longhorn-volume volume=%s node=worker-%d", g.pick(vols...), 1+g.rng.IntN(3))
		}),
		lh(cLHManager, "debug", func(g *gen) (string, string) {
			return fmt.Sprintf("Instance Manager Controller worker-%d picked up instance-manager-%s", 1+g.rng.IntN(3), g.hex(8)), "controller=longhorn-instance-manager"
		}),
		lh(cLHInstance, "info", func(g *gen) (string, string) {
			return fmt.Sprintf("Process Manager: process %s-r-%s is running", g.pick(vols...), g.hex(8)), ""
		}),
		lh(cLHManager, "info", func(g *gen) (string, string) {
			return fmt.Sprintf("Created snapshot %s for volume %s", g.uuid(), g.pick(vols...)), "controller=longhorn-snapshot"
		}),
		func(g *gen) (comp, string, string) {
			return cLHManager, "info", fmt.Sprintf(`%s %s - - [%s] "GET /v1/volumes/%s HTTP/1.1" 200 %d "" "Go-http-client/1.1"`,
				g.t.Format(runtimeTS), g.ip(), g.t.Format("02/Jan/2006:15:04:05 -0700"), g.pick(vols...), 900+g.rng.IntN(4000))
		},
	}
	faulted := episode{"replica-faulted", func(g *gen) []emitter {
		vol, rep := g.pick(vols...), g.hex(8)
		return []emitter{
			lh(cLHInstance, "error", func(*gen) (string, string) {
				return fmt.Sprintf("Replica %s-r-%s: I/O error: read tcp 10.42.1.17:10015: i/o timeout", vol, rep), ""
			}),
			lh(cLHManager, "warn", func(*gen) (string, string) {
				return fmt.Sprintf("Replica %s-r-%s of volume %s is marked as failed: engine reported mode ERR", vol, rep, vol), "controller=longhorn-engine"
			}),
			lh(cLHManager, "warn", func(*gen) (string, string) {
				return fmt.Sprintf("Volume %s is degraded: 2 of 3 replicas healthy", vol), "controller=longhorn-volume"
			}),
			normal[2],
			lh(cLHManager, "error", func(*gen) (string, string) {
				return fmt.Sprintf("Failed to rebuild replica %s-r-%s: timed out waiting for replica to become ready", vol, g.hex(8)), "controller=longhorn-engine"
			}),
			lh(cLHManager, "error", func(*gen) (string, string) {
				return fmt.Sprintf("Volume %s is faulted: all replicas failed", vol), "controller=longhorn-volume"
			}),
			lh(cLHManager, "warn", func(*gen) (string, string) {
				return fmt.Sprintf("longhorn-kubernetes-pod-controller: Error syncing Longhorn kubernetes pod shop/checkout-84f6d5c9b-lp9xq: volume %s is not ready for workloads", vol), ""
			}),
		}
	}}
	missing := episode{"volume-missing", func(g *gen) []emitter {
		vol := "pvc-" + g.uuid()
		lines := repeat(6, func(g *gen) (comp, string, string) {
			return cLHManager, "info", fmt.Sprintf(`%s %s - - [%s] "GET /v1/volumes/%s HTTP/1.1" 404 0 "" "Go-http-client/1.1"`,
				g.t.Format(runtimeTS), g.ip(), g.t.Format("02/Jan/2006:15:04:05 -0700"), vol)
		})
		lines = append(lines, repeat(3, lh(cLHManager, "error", func(*gen) (string, string) {
			return fmt.Sprintf("fail to sync shop/checkout-84f6d5c9b-lp9xq: volume.longhorn.io %q not found", vol), "controller=longhorn-kubernetes-pod"
		}))...)
		return lines
	}}
	return profile{normal: normal, episodes: []episode{faulted, missing}}
}

func (g *gen) jsonLine(level, msg, kv string) string {
	s := fmt.Sprintf(`{"level":%q,"ts":%q,"logger":"checkout","msg":%q`, level, g.t.Format("2006-01-02T15:04:05.000Z07:00"), msg)
	if kv != "" {
		s += "," + kv
	}
	return s + "}"
}

func js(level string, f func(g *gen) (msg, kv string)) emitter {
	return func(g *gen) (comp, string, string) {
		msg, kv := f(g)
		return cCheckout, level, g.jsonLine(level, msg, kv)
	}
}

func (g *gen) access(status, bytes int, path string) string {
	return fmt.Sprintf(`%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s" %d.%03d`, g.ip(), g.t.Format("02/Jan/2006:15:04:05 -0700"),
		g.pick("GET", "GET", "GET", "POST"), path, status, bytes, g.pick("Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "okhttp/4.12.0"), 0, g.rng.IntN(250))
}

func workload() profile {
	paths := []string{"/", "/products", "/products/%d", "/cart", "/api/cart/items", "/static/app.%s.js"}
	path := func(g *gen) string {
		p := g.pick(paths...)
		switch p {
		case "/products/%d":
			return fmt.Sprintf(p, 1000+g.rng.IntN(9000))
		case "/static/app.%s.js":
			return fmt.Sprintf(p, g.hex(8))
		}
		return p
	}
	normal := []emitter{
		func(g *gen) (comp, string, string) {
			status := 200
			if g.rng.IntN(8) == 0 {
				status = 304
			}
			return cWeb, "info", g.access(status, 200+g.rng.IntN(20000), path(g))
		},
		func(g *gen) (comp, string, string) {
			return cWeb, "info", g.access(200, 200+g.rng.IntN(20000), path(g))
		},
		js("info", func(g *gen) (string, string) {
			return "order placed", fmt.Sprintf(`"order_id":"o-%s","items":%d,"latency_ms":%d`, g.alnum(8), 1+g.rng.IntN(6), 5+g.rng.IntN(120))
		}),
		js("info", func(g *gen) (string, string) {
			return "payment authorized", fmt.Sprintf(`"order_id":"o-%s","provider":%q,"latency_ms":%d`, g.alnum(8), g.pick("stripe-mock", "adyen-mock"), 40+g.rng.IntN(300))
		}),
		js("debug", func(g *gen) (string, string) {
			return "cache hit", fmt.Sprintf(`"key":"cart:%s"`, g.alnum(10))
		}),
	}
	connRefused := episode{"connection-refused", func(g *gen) []emitter {
		lines := repeat(6, js("error", func(g *gen) (string, string) {
			return "failed to query orders", fmt.Sprintf(`"error":"dial tcp 10.96.%d.%d:5432: connect: connection refused","attempt":%d`, 10+g.rng.IntN(5), 2+g.rng.IntN(200), 1+g.rng.IntN(5))
		}))
		lines = append(lines, repeat(6, func(g *gen) (comp, string, string) {
			return cWeb, "error", fmt.Sprintf(`%s [error] 29#29: *%d connect() failed (111: Connection refused) while connecting to upstream, client: %s, server: _, request: "POST /api/checkout HTTP/1.1", upstream: "http://10.96.3.20:8080/api/checkout"`,
				g.t.Format("2006/01/02 15:04:05"), 1000+g.rng.IntN(90000), g.ip())
		})...)
		lines = append(lines, repeat(4, func(g *gen) (comp, string, string) {
			return cWeb, "error", g.access(502, 157, "/api/checkout")
		})...)
		return lines
	}}
	panicEp := episode{"panic", func(g *gen) []emitter {
		gid := 40 + g.rng.IntN(400)
		plain := func(level, s string) emitter { return func(*gen) (comp, string, string) { return cCheckout, level, s } }
		return []emitter{
			js("error", func(*gen) (string, string) {
				return "unexpected nil cart", `"order_id":"o-` + g.alnum(8) + `"`
			}),
			plain("fatal", "panic: runtime error: invalid memory address or nil pointer dereference"),
			plain("fatal", "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6f2a1c]"),
			plain("-", fmt.Sprintf("goroutine %d [running]:", gid)),
			plain("-", "example.internal/shop/checkout/cart.(*Service).Total(0x0, {0xc0001a6000, 0x3})"),
			plain("-", "\t/src/checkout/cart/service.go:88 +0x3c"),
			plain("-", "example.internal/shop/checkout/api.(*Handler).Checkout(0xc000118090, {0x9a1e20, 0xc0002a40e0}, 0xc000386100)"),
			plain("-", "\t/src/checkout/api/handler.go:142 +0x1d5"),
			plain("-", "net/http.HandlerFunc.ServeHTTP(0xc0000b2a80, {0x9a1e20, 0xc0002a40e0}, 0xc000386100)"),
			plain("-", "\t/usr/local/go/src/net/http/server.go:2220 +0x29"),
			func(g *gen) (comp, string, string) { return cWeb, "error", g.access(502, 157, "/api/checkout") },
			js("info", func(*gen) (string, string) { return "starting checkout service", `"version":"1.14.2","port":8080` }),
		}
	}}
	oom := episode{"oom-killed", func(g *gen) []emitter {
		lines := repeat(3, js("warn", func(g *gen) (string, string) {
			return "heap usage high", fmt.Sprintf(`"heap_mb":%d,"limit_mb":512`, 440+g.rng.IntN(70))
		}))
		lines = append(lines,
			js("error", func(*gen) (string, string) { return "fatal error: runtime: out of memory", "" }),
			func(g *gen) (comp, string, string) {
				return cCheckout, "error", fmt.Sprintf("Memory cgroup out of memory: Killed process %d (checkout) total-vm:%dkB, anon-rss:524288kB, oom_score_adj:%d", 3000+g.rng.IntN(9000), 1200000+g.rng.IntN(400000), 900+g.rng.IntN(99))
			},
			func(g *gen) (comp, string, string) { return cWeb, "error", g.access(503, 190, "/api/checkout") },
			func(g *gen) (comp, string, string) { return cWeb, "error", g.access(503, 190, "/api/cart/items") },
			js("info", func(*gen) (string, string) { return "starting checkout service", `"version":"1.14.2","port":8080` }),
		)
		return lines
	}}
	return profile{normal: normal, episodes: []episode{connRefused, panicEp, oom}}
}

// runtimeTS is the container runtime's fixed-width timestamp prefix.
const runtimeTS = "2006-01-02T15:04:05.000000000Z07:00"
