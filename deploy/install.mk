# install.mk - make install (included by the Makefile; to be written).
