#!/usr/bin/env bash
# Writes a customer CSV of N rows to stdout, shaped like samples/customers.csv: every fourth
# row has an id, names are unique, some rows carry quoted commas and several domains.
# Usage: bench/customers.sh N > customers.csv
set -euo pipefail
n=${1:?usage: bench/customers.sh ROWS}
awk -v n="$n" 'BEGIN {
  print "id,name,displayName,description,email,domains,metadata.region,metadata.salesforceId,metadata.orgEntitlements,account_owner"
  split("EMEA,NA,APAC,LATAM", regions, ",")
  for (i = 1; i <= n; i++) {
    id = (i % 4 == 0) ? sprintf("cust-%07d", i) : ""
    printf "%s,customer-%07d,\"Kunde %d, GmbH\",Regional distributor number %d.,admin@customer%d.example.com,\"customer%d.example.com,c%d.example.org\",%s,001XX%013d,api-access;scim,Ana Silva\n",
      id, i, i, i, i, i, i, regions[i % 4 + 1], i
  }
}'
