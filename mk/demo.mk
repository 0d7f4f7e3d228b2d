# make demo: the README's main command. Builds cnnc and the runtime, fetches MNIST (DATA_MIRROR),
# compiles the seed model, trains it for the epochs its file says, evaluates it and draws the plots.
DEMO_MODEL ?= models/mnist_cnn.cnn
DEMO_NAME  ?= mnist_cnn
DEMO_DIR    = $(BUILD)/$(DEMO_NAME).d

demo: all $(BUILD)/libcnnapp.a $(BUILD)/libcnnplot.a data
	$(BUILD)/cnnc summary $(DEMO_MODEL)
	$(BUILD)/cnnc build $(DEMO_MODEL) -o $(BUILD)/$(DEMO_NAME)
	@mkdir -p $(DEMO_DIR)
	$(BUILD)/$(DEMO_NAME) train --data $(DATA_DIR) --save $(DEMO_DIR)/model.safetensors \
	    --history $(DEMO_DIR)/history.csv --plot $(DEMO_DIR)/curves.png
	$(BUILD)/$(DEMO_NAME) eval --data $(DATA_DIR) --load $(DEMO_DIR)/model.safetensors \
	    --confusion $(DEMO_DIR)/confusion.png --mistakes $(DEMO_DIR)/mistakes.png
	@echo "demo: checkpoint, history and pictures in $(DEMO_DIR)/"
