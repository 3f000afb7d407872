package dev.invconv.benchmarks;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal ONNX model writer: just enough protobuf, encoded by hand, for graphs of Conv nodes
 * with float initializers, so ONNX Runtime can run the benchmark cases without an onnx or
 * protobuf dependency. Field numbers are those of {@code onnx/onnx.proto} (IR version 8, opset 17).
 *
 * <pre>{@code
 * Onnx.Graph g = new Onnx.Graph("conv");
 * g.input("x", 1, 64, 56, 56);
 * g.initializer("w", weights, 64, 64, 3, 3);
 * g.initializer("b", bias, 64);
 * g.conv("x", "w", "b", "y", new long[] {3, 3}, new long[] {1, 1}, new long[] {1, 1, 1, 1}, 1);
 * g.output("y", 1, 64, 56, 56);
 * byte[] model = g.toModel();
 * }</pre>
 */
final class Onnx {

    private static final int FLOAT = 1;          // TensorProto.DataType.FLOAT
    private static final int ATTRIBUTE_INT = 2;  // AttributeProto.AttributeType.INT
    private static final int ATTRIBUTE_INTS = 7; // AttributeProto.AttributeType.INTS

    private Onnx() {}

    /** A graph under construction. */
    static final class Graph {
        private final String name;
        private final List<Message> nodes = new ArrayList<>();
        private final List<Message> initializers = new ArrayList<>();
        private final List<Message> inputs = new ArrayList<>();
        private final List<Message> outputs = new ArrayList<>();

        Graph(String name) {
            this.name = name;
        }

        /** A float32 graph input of a fixed shape. */
        Graph input(String value, long... shape) {
            inputs.add(valueInfo(value, shape));
            return this;
        }

        /** A float32 graph output of a fixed shape. */
        Graph output(String value, long... shape) {
            outputs.add(valueInfo(value, shape));
            return this;
        }

        /** A constant float32 tensor (weights, bias), stored as little-endian raw data. */
        Graph initializer(String value, float[] data, long... shape) {
            ByteBuffer raw = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().put(data);
            Message t = new Message();
            for (long d : shape) {
                t.int64(1, d);                        // dims
            }
            t.int64(2, FLOAT);                        // data_type
            t.string(8, value);                       // name
            t.bytes(9, raw.array());                  // raw_data
            initializers.add(t);
            return this;
        }

        /**
         * A Conv node (NCHW, OIHW weights; {@code pads} = top, left, bottom, right; bias may be null).
         */
        Graph conv(String x, String w, String b, String y, long[] kernel, long[] strides, long[] pads, long group) {
            Message node = new Message();
            node.string(1, x);                        // input
            node.string(1, w);
            if (b != null) {
                node.string(1, b);
            }
            node.string(2, y);                        // output
            node.string(3, y + "_conv");              // name
            node.string(4, "Conv");                   // op_type
            node.message(5, ints("kernel_shape", kernel));   // attribute
            node.message(5, ints("strides", strides));
            node.message(5, ints("pads", pads));
            node.message(5, ints("dilations", new long[] {1, 1}));
            Message g = new Message();
            g.string(1, "group");
            g.int64(20, ATTRIBUTE_INT);               // type
            g.int64(3, group);                        // i
            node.message(5, g);
            nodes.add(node);
            return this;
        }

        /** The serialized ModelProto. */
        byte[] toModel() {
            Message graph = new Message();
            nodes.forEach(n -> graph.message(1, n));          // node
            graph.string(2, name);                            // name
            initializers.forEach(t -> graph.message(5, t));   // initializer
            inputs.forEach(v -> graph.message(11, v));        // input
            outputs.forEach(v -> graph.message(12, v));       // output
            Message opset = new Message();
            opset.string(1, "");                              // domain: the default ONNX domain
            opset.int64(2, 17);                               // version
            Message model = new Message();
            model.int64(1, 8);                                // ir_version
            model.string(2, "invconv-benchmarks");            // producer_name
            model.message(7, graph);                          // graph
            model.message(8, opset);                          // opset_import
            return model.toByteArray();
        }

        private static Message ints(String name, long[] values) {
            Message a = new Message();
            a.string(1, name);
            a.int64(20, ATTRIBUTE_INTS);
            for (long v : values) {
                a.int64(8, v);                        // ints (unpacked, which parsers accept)
            }
            return a;
        }

        private static Message valueInfo(String value, long[] shape) {
            Message dims = new Message();
            for (long d : shape) {
                Message dim = new Message();
                dim.int64(1, d);                      // dim_value
                dims.message(1, dim);                 // TensorShapeProto.dim
            }
            Message tensor = new Message();
            tensor.int64(1, FLOAT);                   // elem_type
            tensor.message(2, dims);                  // shape
            Message type = new Message();
            type.message(1, tensor);                  // TypeProto.tensor_type
            Message info = new Message();
            info.string(1, value);                    // name
            info.message(2, type);                    // type
            return info;
        }
    }

    /** A protobuf message being encoded: fields appended in order. */
    static final class Message {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void int64(int field, long value) {
            varint((long) field << 3);                // wire type 0: varint
            varint(value);
        }

        void string(int field, String value) {
            bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        void bytes(int field, byte[] value) {
            varint((long) field << 3 | 2);            // wire type 2: length-delimited
            varint(value.length);
            out.writeBytes(value);
        }

        void message(int field, Message value) {
            bytes(field, value.toByteArray());
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        private void varint(long value) {
            long v = value;
            while ((v & ~0x7FL) != 0) {
                out.write((int) (v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
