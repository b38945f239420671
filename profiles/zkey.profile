# Secure keys of the zkey repository associated with the APQNs; see
# mkagent-helpers(7). Settings are arguments of each exec line:
#   --repository DIR          the repository zkey uses (its ZKEY_REPOSITORY)
#   --unassigned skip|include keys with no APQNs property: left (the default;
#                             named in the log) or re-enciphered too
[profile]
description = zkey secure key repository
mk-types = cca-aes ep11
[reencipher]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository reencipher
[finalize]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository finalize
[cancel]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository cancel
[recover]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository recover
