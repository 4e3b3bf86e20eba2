#!/usr/bin/env bash
# Generates the TLS fixtures the tests use (Tests/Fixtures/TLS): a test CA, a server certificate
# for 127.0.0.1 and localhost, a client certificate, a certificate for a wrong name, an expired
# certificate, and a CA nobody trusts with a server certificate of its own. Valid for 100 years
# (the expired one ended in 2001). Run again only to replace them; the tests read the files.
set -euo pipefail
cd "$(dirname "$0")/../Tests/Fixtures/TLS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
days=36500

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
    key "$1-key.pem"
    openssl req -x509 -new -key "$1-key.pem" -subj "/CN=$2" -days $days -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$1.pem"
}

leaf() { # name ca subject san eku
    key "$1-key.pem"
    openssl req -new -key "$1-key.pem" -subj "/CN=$3" -out "$work/$1.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s\n' \
        "$5" "${4:+subjectAltName=$4}" >"$work/$1.ext"
    openssl x509 -req -in "$work/$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -CAcreateserial \
        -CAserial "$work/$2.srl" -days $days -sha256 -extfile "$work/$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "dispatcher test CA"
ca other-ca "untrusted test CA"
leaf server ca "localhost" "IP:127.0.0.1,IP:::1,DNS:localhost" serverAuth
leaf client ca "dispatcher test client" "" clientAuth
leaf wrong-name ca "wrong.example" "DNS:wrong.example" serverAuth
leaf unknown-ca other-ca "localhost" "IP:127.0.0.1,DNS:localhost" serverAuth

# Expired: `openssl ca` is the CLI that takes explicit start and end dates.
key expired-key.pem
openssl req -new -key expired-key.pem -subj "/CN=localhost" -out "$work/expired.csr"
mkdir -p "$work/ca"
: >"$work/ca/index.txt"
echo 01 >"$work/ca/serial"
cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $work/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
CNF
openssl ca -batch -config "$work/ca.cnf" -cert ca.pem -keyfile ca-key.pem -in "$work/expired.csr" \
    -startdate 20000101000000Z -enddate 20010101000000Z -extensions leaf -notext -out expired.pem 2>/dev/null

rm -f other-ca-key.pem ca-key.pem
echo "not a certificate" >malformed.pem
ls
