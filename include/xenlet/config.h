/* config.h - xenletd settings: a YAML config file, then flags, kubelet style.
 *
 * Precedence, as the kubelet has it: built-in defaults < the file named by
 * --config < command-line flags.  xn_config_check() validates the result
 * without side effects; `xenletd -n` prints the effective settings.
 * The file format is documented in docs/man/xenletd.conf.5.
 */
#ifndef XENLET_CONFIG_H
#define XENLET_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "xenlet/err.h"
#include "xenlet/image_pull.h"

struct xn_taint {
	char *key;
	char *value;
	char *effect; /* NoSchedule, PreferNoSchedule, NoExecute */
};

struct xn_label {
	char *key;
	char *value;
};

struct xn_config {
	char *config_file;  /* --config; NULL: none */
	char *kubeconfig;   /* --kubeconfig; NULL: standalone (no API server) */
	char *node_name;    /* --node-name; default: the host name, lowercased */
	char *node_ip;	    /* --node-ip: InternalIP address to advertise */
	char *backend;	    /* --backend: "libxl" (default) or "sim" */
	char *store;	    /* --store: "xs" or "mem"; default: xs with libxl, mem with sim */
	char *root_dir;	    /* --root-dir: state (default /var/lib/xenlet) */
	char *log_dir;	    /* --pod-log-dir: CRI logs (default /var/log/pods) */
	char *ctl_socket;   /* --ctl-socket (default /run/xenlet/xenletd.sock) */
	char *bridge;	    /* the pod bridge: vifs attach here (default xenlet0) */
	char *pod_cidr;	    /* --pod-cidr: pod ranges when the Node has none; NULL */
	char *vif_script;   /* --vif-script: the vif hotplug script libxl runs */
	char **image_roots; /* imageRoots, --image-root: the only directories a
			     * pod's kernel or ramdisk may come from (default
			     * /var/lib/xenlet/images; see image_path.h) */
	size_t nimage_roots;
	bool foreground;		/* -d */
	bool check_only;		/* -n */
	int verbose;			/* -v, repeatable */
	unsigned kubelet_port;		/* port of the kubelet API (default 10250) */
	char *address;			/* --address: kubelet API bind address (default 0.0.0.0) */
	char *tls_cert_file;		/* --tls-cert-file; NULL: self-signed at start */
	char *tls_key_file;		/* --tls-private-key-file */
	char *client_ca_file;		/* --client-ca-file: CA of client certificates */
	bool server_tls_bootstrap;	/* --server-tls-bootstrap: serving cert via a CSR */
	unsigned max_pods;		/* default 110, as the kubelet */
	int64_t reserved_memory;	/* bytes kept for Dom0/daemon (systemReserved.memory) */
	int64_t reserved_cpu_milli;	/* systemReserved.cpu */
	int64_t default_pod_memory;	/* memory for a pod with no request/limit (default 64Mi) */
	int64_t container_log_max_size; /* rotate CRI logs at this size (default 10Mi) */
	unsigned container_log_max_files; /* log files kept per instance (default 5) */
	int64_t memory_pressure_free;	  /* MemoryPressure when Xen's free memory is below this */
	unsigned node_status_update_s;	  /* status push at least this often (default 60) */
	unsigned lease_duration_s;	  /* default 40 */
	struct xn_taint
	    *taints; /* registerWithTaints; default xenlet.io/unikernel=true:NoSchedule */
	size_t ntaints;
	struct xn_label *labels; /* nodeLabels (added to the built-in ones) */
	size_t nlabels;
	/* registries: per registry host, how to reach it (image_pull.h) */
	struct xn_registry_conf *registries;
	size_t nregistries;
	/* DNS (docs/networking.md, "DNS"): clusterDNS / --cluster-dns as
	 * "10.96.0.10[,...]" (NULL: none), clusterDomain / --cluster-domain
	 * (NULL: none), resolvConf / --resolv-conf, the node's resolver file
	 * for dnsPolicy Default ("": none). */
	char *cluster_dns;
	char *cluster_domain;
	char *resolv_conf;
	/* flannelSubnetFile: flannel's subnet.env ("": none) */
	char *flannel_subnet_file;
};

/* Built-in defaults. */
void xn_config_init(struct xn_config *c);
void xn_config_dispose(struct xn_config *c);

/* Parse argv (getopt_long) into c, reading --config first when given.
 * Returns 0, or -1 with err naming the flag, file, line or key. */
int xn_config_from_args(struct xn_config *c, int argc, char **argv, xn_err *err);
/* Load a YAML file over the current values. */
int xn_config_load_file(struct xn_config *c, const char *path, xn_err *err);
/* Cross-field checks and derived defaults (store from backend, node name). */
int xn_config_check(struct xn_config *c, xn_err *err);
/* The effective settings, as YAML that --config accepts. */
void xn_config_print(const struct xn_config *c, FILE *out);
void xn_config_usage(FILE *out);

#endif
