#!/bin/sh
# Generates the X.509 test certificates of tests/x509_chain.rs with the openssl command
# (OpenSSL 3.0; `openssl ca` for fixed validity dates). Run from this directory:
#     sh make.sh
# Keys are fresh on every run, so the DER files change; the tests depend only on what is
# written below (names, extensions, dates), never on key bytes.
#
# All keys are P-256 and all signatures ECDSA with SHA-256 (EDHOC cipher suite 2).
#
#   root              self-signed CA, no pathLen               2020-01-01 .. 2049-12-31T23:59:59Z
#   inter             CA, pathLen 0, issued by root            2020-01-01 .. 2049-12-31T23:59:59Z
#   inter2            CA, issued by inter (violates inter's pathLen 0)
#   inter_not_ca      inter's name and key, basicConstraints cA=FALSE
#   inter_no_certsign inter's name and key, cA=TRUE, keyUsage digitalSignature only
#   leaf_root         end entity issued by root, keyUsage digitalSignature  2024-01-01 .. 2049-12-31
#   leaf_inter        end entity issued by inter, digitalSignature         2024-01-01 .. 2049-12-31
#   leaf_inter2       end entity issued by inter2
#   leaf_ka           end entity issued by root, keyUsage keyAgreement only
#   leaf_expired      issued by root, 2021-01-01 .. 2022-01-01
#   leaf_future       issued by root, 2030-01-01 .. 2035-01-01
#   leaf_forged       issuer name of root, but signed by another key ("impostor")
#
# leaf_root.key.hex is the leaf's private P-256 scalar (32 bytes hex) for the mote binary test.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ ext_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[ ext_inter ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
[ ext_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
[ ext_not_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign
[ ext_ca_no_certsign ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature
[ ext_leaf_sig ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
[ ext_leaf_ka ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyAgreement
CNF
: > "$work/index.txt"
echo 1000 > "$work/serial"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1.key" 2>/dev/null; }
csr() { openssl req -new -key "$work/$2.key" -subj "/CN=$3" -out "$work/$1.csr"; }
# sign NAME ISSUER_CERT ISSUER_KEY EXTENSIONS START END
sign() {
    openssl ca -batch -notext -config "$work/ca.cnf" -in "$work/$1.csr" -cert "$work/$2.pem" \
        -keyfile "$work/$3.key" -extensions "$4" -startdate "$5" -enddate "$6" \
        -out "$work/$1.pem" 2>/dev/null
    openssl x509 -in "$work/$1.pem" -outform DER -out "$1.der"
}

for k in root impostor inter inter2 leaf; do key $k; done

# Self-signed roots (the impostor has the root's name and another key).
for r in root impostor; do
    csr $r $r "Mote Test Root"
    openssl ca -batch -notext -selfsign -config "$work/ca.cnf" -in "$work/$r.csr" \
        -keyfile "$work/$r.key" -extensions ext_root \
        -startdate 20200101000000Z -enddate 20491231235959Z -out "$work/$r.pem" 2>/dev/null
done
openssl x509 -in "$work/root.pem" -outform DER -out root.der

csr inter inter "Mote Test Intermediate"
sign inter root root ext_inter 20200101000000Z 20491231235959Z
csr inter_not_ca inter "Mote Test Intermediate"
sign inter_not_ca root root ext_not_ca 20200101000000Z 20491231235959Z
csr inter_no_certsign inter "Mote Test Intermediate"
sign inter_no_certsign root root ext_ca_no_certsign 20200101000000Z 20491231235959Z
csr inter2 inter2 "Mote Test Intermediate 2"
sign inter2 inter inter ext_ca 20200101000000Z 20491231235959Z

csr leaf_root leaf "Mote Test Leaf"
sign leaf_root root root ext_leaf_sig 20240101000000Z 20491231000000Z
csr leaf_inter leaf "Mote Test Leaf"
sign leaf_inter inter inter ext_leaf_sig 20240101000000Z 20491231000000Z
csr leaf_inter2 leaf "Mote Test Leaf"
sign leaf_inter2 inter2 inter2 ext_leaf_sig 20240101000000Z 20491231000000Z
csr leaf_ka leaf "Mote Test Leaf"
sign leaf_ka root root ext_leaf_ka 20240101000000Z 20491231000000Z
csr leaf_expired leaf "Mote Test Leaf"
sign leaf_expired root root ext_leaf_sig 20210101000000Z 20220101000000Z
csr leaf_future leaf "Mote Test Leaf"
sign leaf_future root root ext_leaf_sig 20300101000000Z 20350101000000Z
csr leaf_forged leaf "Mote Test Leaf"
sign leaf_forged impostor impostor ext_leaf_sig 20240101000000Z 20491231000000Z

# The leaf's private scalar, hex.
openssl ec -in "$work/leaf.key" -text -noout 2>/dev/null |
    sed -n '/^priv:/,/^pub:/p' | grep -v -e '^priv:' -e '^pub:' | tr -d ' :\n' |
    sed 's/^00\(.\{64\}\)$/\1/' > leaf_root.key.hex
echo >> leaf_root.key.hex
